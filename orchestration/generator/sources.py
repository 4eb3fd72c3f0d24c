"""Records of every contract source for one chunk of people, built from the latent
purchases and traits in `population`. One method per source returns a `Batch`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import feedback, fmt
from orchestration.generator.population import (
    APP,
    CITIES,
    CN,
    COUNTRIES,
    CURRENCIES,
    EXPERIMENT_ID,
    SOCIAL_PLATFORMS,
    STORE,
    STORE_TZ,
    WEB,
    Context,
    Persons,
    Purchases,
)
from orchestration.generator.writer import Batch
from orchestration.lib.contract import SOURCES_BY_NAME

MINUTE = 1.0 / 1440
# Timestamp style weights per source family (see fmt.TS_SUFFIX).
TS_WEB = (70, 10, 5, 5, 0, 6, 4)
TS_CRM = (10, 5, 0, 0, 0, 45, 40)
TS_MIX = (50, 15, 10, 10, 5, 5, 5)
CITY_BY_COUNTRY = [list(CITIES[c]) for c in COUNTRIES]
ALL_CITIES = [c for cs in CITY_BY_COUNTRY for c in cs]
PAID = {  # traffic source -> (campaign ids, currency per campaign)
    "paid_search": (("PS-BRAND-US", "PS-GENERIC-US", "PS-EU"), ("USD", "USD", "EUR")),
    "social": (("SOC-US", "SOC-UK"), ("USD", "GBP")),
    "display": (("DSP-RETARGET",), ("USD",)),
    "affiliate": (("AFF-NETWORK",), ("USD",)),
    "store_promo": (("STORE-PROMO",), ("USD",)),
}
ORGANIC_SOURCES = ("organic", "direct", "referral", "paid_search", "social", "display", "affiliate")
ORGANIC_P = (0.3, 0.25, 0.08, 0.17, 0.1, 0.05, 0.05)
PAGES = ("/", "/sale", "/new-in", "/product/sku-1042", "/product/sku-2210", "/cart", "/blog")
MESSAGING = {  # channel: (campaign prefix, every n days, first day)
    "email": ("EM", 14, 3),
    "sms": ("SMS", 30, 10),
    "push": ("PUSH", 21, 5),
}
# Feedback texts (feedback.py). A ticket's topic and sentiment by its category.
TICKET_FEEDBACK = {
    "complaint": ({"product_quality": 0.55, "delivery": 0.45}, {"negative": 1}),
    "inquiry": ({"sizing": 0.4, "points_rewards": 0.3, "delivery": 0.3}, {"neutral": 1}),
    "return": ({"returns_refunds": 1}, {"neutral": 0.5, "negative": 0.5}),
    "technical": ({"app_website": 1}, {"negative": 1}),
    "billing": ({"payment": 1}, {"negative": 1}),
    "praise": ({"staff": 0.7, "other": 0.3}, {"positive": 1}),
}
CATEGORIES = tuple(TICKET_FEEDBACK)
TICKET_TOPIC_P = np.array(
    [feedback.weights(feedback.TOPICS, **t) for t, _ in TICKET_FEEDBACK.values()]
)
TICKET_SENTIMENT_P = np.array(
    [feedback.weights(feedback.SENTIMENTS, **s) for _, s in TICKET_FEEDBACK.values()]
)
# A survey comment's topic by why the survey was sent; `ticket`: the topic of the service
# ticket it follows.
SURVEY_CAUSES = {
    "order": {
        "delivery": 0.2, "product_quality": 0.25, "sizing": 0.12, "price": 0.1,
        "app_website": 0.07, "payment": 0.05, "points_rewards": 0.05, "returns_refunds": 0.03,
        "staff": 0.03, "other": 0.1,
    },
    "late": {
        "delivery": 0.75, "product_quality": 0.08, "price": 0.04, "staff": 0.05, "other": 0.08,
    },
    "returned": {
        "returns_refunds": 0.7, "product_quality": 0.15, "sizing": 0.1, "other": 0.05,
    },
    "store": {
        "staff": 0.3, "product_quality": 0.25, "price": 0.15, "sizing": 0.12,
        "points_rewards": 0.08, "other": 0.1,
    },
    "service": {"ticket": 0.6, "staff": 0.3, "other": 0.1},
    "long_wait": {"ticket": 0.2, "staff": 0.75, "other": 0.05},
}  # fmt: skip
ORDER, LATE, RETURNED, STORE_VISIT, SERVICE, LONG_WAIT = range(len(SURVEY_CAUSES))
SURVEY_TOPIC_P = np.array(
    [feedback.weights((*feedback.TOPICS, "ticket"), **w) for w in SURVEY_CAUSES.values()]
)
LATE_DAYS = 6  # an order delivered later than this after it was placed (a fifth are)
# P(sentiment) of a comment by score band, per survey type (nps, csat, ces): (highest
# score of the band, probabilities). The generator's CES rises with satisfaction (7: easy).
SURVEY_BANDS = (
    ((6, (0.8, 0.15, 0.05)), (8, (0.15, 0.6, 0.25)), (10, (0.03, 0.12, 0.85))),
    ((2, (0.9, 0.07, 0.03)), (3, (0.1, 0.8, 0.1)), (5, (0.03, 0.07, 0.9))),
    ((3, (0.9, 0.07, 0.03)), (4, (0.1, 0.8, 0.1)), (7, (0.03, 0.07, 0.9))),
)


def _by_score(bands) -> np.ndarray:
    """The probabilities of each score's band, for scores 0..10."""
    tops = np.array([top for top, _ in bands])
    probs = np.array([p for _, p in bands])
    return probs[np.minimum(np.searchsorted(tops, np.arange(11)), len(bands) - 1)]


SURVEY_SENTIMENT_P = np.array([_by_score(bands) for bands in SURVEY_BANDS])  # type, score
# A social post's topic by interaction type (follow and like have no text).
SOCIAL_TOPICS = (
    {"other": 1},
    {"other": 1},
    {
        "product_quality": 0.3, "price": 0.12, "sizing": 0.1, "delivery": 0.1, "staff": 0.05,
        "app_website": 0.05, "points_rewards": 0.05, "other": 0.23,
    },
    {"price": 0.35, "product_quality": 0.3, "points_rewards": 0.05, "other": 0.3},
    {
        "delivery": 0.2, "product_quality": 0.2, "staff": 0.15, "app_website": 0.1, "price": 0.1,
        "returns_refunds": 0.05, "payment": 0.05, "other": 0.15,
    },
    {
        "delivery": 0.4, "returns_refunds": 0.3, "sizing": 0.1, "points_rewards": 0.08,
        "payment": 0.07, "other": 0.05,
    },
)  # fmt: skip
SOCIAL_TOPIC_P = np.array([feedback.weights(feedback.TOPICS, **w) for w in SOCIAL_TOPICS])
COMMENT, SHARE, MENTION, DIRECT_MESSAGE = 2, 3, 4, 5
CHINESE_PLATFORMS = [SOCIAL_PLATFORMS.index(p) for p in ("wechat", "weibo")]
CN_ENGLISH_P = 0.1  # Chinese residents who write their feedback in English
UNINSTALL_P = 0.8  # churned app users who remove the app
SOCIAL_LINK_P = 0.85  # customers with a CRM profile who link their social account
# Share of tickets carrying the email / phone, by contact channel (phone, chat, email,
# store, social): a call shows the caller id, an email its sender, a chat its pre-chat form.
TICKET_EMAIL_P = np.array([0.3, 0.85, 1.0, 0.3, 0.3])
TICKET_PHONE_P = np.array([0.95, 0.2, 0.2, 0.6, 0.2])


def campaign_schedule(ctx: Context) -> list[tuple[str, str, int]]:
    """(campaign_id, channel, send day) of every outbound campaign in the window."""
    out = []
    for channel, (prefix, every, first) in MESSAGING.items():
        for day in range(first, ctx.days, every):
            out.append((f"{prefix}-{ctx.day_name(day).replace('-', '')}", channel, day))
    return out


def _repeat_index(counts: np.ndarray) -> np.ndarray:
    """Owner index of each element when owner i has counts[i] elements."""
    return np.repeat(np.arange(len(counts)), counts)


@dataclass
class Orders:
    """Purchase-level facts shared by several sources (ids, channels, identifiers)."""

    ids: pa.Array
    cookie: pa.Array
    logged_in: np.ndarray
    traffic: pa.Array  # session traffic source of online orders
    campaign: pa.Array


class Chunk:
    def __init__(self, ctx: Context, chunk: int, persons: Persons, buys: Purchases):
        self.ctx, self.chunk, self.P, self.B = ctx, chunk, persons, buys
        self.rng = ctx.rng(chunk, 1)
        self.phone_rng = ctx.rng(chunk, 4)  # forms of numbers a US-only data set never had
        self.alias_rng = ctx.rng(chunk, 5)  # when a Gmail user types an alias

    # -- shared helpers -----------------------------------------------------------------
    def epoch(self, t: np.ndarray) -> np.ndarray:
        return self.ctx.start_epoch + np.floor(np.asarray(t) * 86400).astype(np.int64)

    def ts(self, t: np.ndarray, weights=TS_MIX, style: np.ndarray | None = None) -> pa.Array:
        if style is None:
            style = fmt.ts_styles(self.rng, len(t), weights)
        return fmt.timestamps(self.epoch(t), style)

    def deliver(self, t: np.ndarray, late_p: float = 0.01, max_late: int = 3) -> np.ndarray:
        """Delivery day: the event's day, or a few days later for a small share."""
        late = np.where(
            self.rng.random(len(t)) < late_p, self.rng.integers(1, max_late + 1, len(t)), 0
        )
        return np.floor(t).astype(np.int64) + late

    def rid(self, prefix: str, n: int) -> pa.Array:
        return fmt.ids(prefix, self.chunk * 10**8 + np.arange(n), 10)

    def some(self, values: pa.Array, share: float) -> pa.Array:
        """`values` kept for a random share of rows, null elsewhere."""
        return fmt.nulls_where(values, self.rng.random(len(values)) >= share)

    def email(self, local: np.ndarray, t: np.ndarray) -> pa.Array:
        emails = self.P.email_at(local, t)
        if self.ctx.gmail_alias_share:
            emails = self._gmail_aliases(local, emails)
        return fmt.email_variants(self.rng, emails)

    def _gmail_aliases(self, local: np.ndarray, emails: pa.Array) -> pa.Array:
        """Some Gmail users' addresses in an alias form, on about half their records. Who
        aliases follows from the person id (no draw), when from a stream of its own."""
        gid = self.P.gid[local].astype(np.uint64)
        user = (gid * np.uint64(2654435761) % np.uint64(2**32)) / 2**32 < self.ctx.gmail_alias_share
        gmail = pc.ends_with(emails, "@gmail.com").to_numpy(zero_copy_only=False)
        now = self.alias_rng.random(len(local)) < 0.5
        return pc.if_else(pa.array(user & gmail & now), fmt.gmail_alias(emails), emails)

    def phone(self, local: np.ndarray) -> pa.Array:
        plan = self.P.phone_country[local]
        return fmt.phone_variants(
            self.rng,
            self.phone_rng,
            self.P.phone.take(pa.array(local)),
            plan == CN,
            plan != self.ctx.home_country,
        )

    def alive_at(self, local: np.ndarray, t: np.ndarray) -> np.ndarray:
        churn = self.P.churn_t[local]
        return np.isnan(churn) | (churn > t)

    def span(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window time in which a person is a customer: acquisition to churn (or end)."""
        start = np.clip(self.P.acq[local], 0, self.ctx.days)
        stop = np.where(np.isnan(self.P.churn_t[local]), self.ctx.days, self.P.churn_t[local])
        return start, np.maximum(start, np.minimum(stop + 30, self.ctx.days))

    def spread(self, local: np.ndarray, per_year: float) -> tuple[np.ndarray, np.ndarray]:
        """Poisson(per_year) events per person over their customer span, uniform in time."""
        start, stop = self.span(local)
        counts = self.rng.poisson(per_year * (stop - start) / 365.0)
        owner = _repeat_index(counts)
        t = start[owner] + self.rng.random(len(owner)) * (stop - start)[owner]
        return local[owner], t

    def batch(self, source, cols, local, day, t, extra=None, truth=None) -> Batch:
        person = self.P.gid[local] if local is not None else np.full(len(day), -1)
        return Batch(source, {**cols, **(extra or {})}, person, day, self.epoch(t), truth or {})

    def take(self, arr: pa.Array, idx: np.ndarray) -> pa.Array:
        return arr.take(pa.array(idx))

    def currency(self, local: np.ndarray) -> pa.Array:
        return fmt.pick(CURRENCIES, self.P.country[local])

    # -- shared facts ---------------------------------------------------------------------
    @cached_property
    def online(self) -> np.ndarray:
        return np.flatnonzero(self.B.channel != STORE)

    @cached_property
    def orders(self) -> Orders:
        B, P, n = self.B, self.P, len(self.B.t)
        seq = self.chunk * 10**8 + np.arange(n)
        ids = pc.if_else(pa.array(B.channel == STORE), fmt.ids("T", seq, 10), fmt.ids("O", seq, 10))
        second = (self.rng.random(n) < 0.3) & pc.is_valid(self.take(P.cookie2, B.local)).to_numpy(
            zero_copy_only=False
        )
        cookie = pc.if_else(
            pa.array(second), self.take(P.cookie2, B.local), self.take(P.cookie_id, B.local)
        )
        src = self.rng.choice(len(ORGANIC_SOURCES), size=n, p=ORGANIC_P)
        traffic = fmt.pick(ORGANIC_SOURCES, src)
        campaign = self._paid_campaign(traffic)
        conv_order, conv_channel, conv_campaign = self.conversions
        if len(conv_order):
            mask = np.zeros(n, dtype=bool)
            mask[conv_order] = True
            fill = np.zeros(n, dtype=np.int64)
            fill[conv_order] = np.arange(len(conv_order))
            traffic = pc.if_else(pa.array(mask), self.take(conv_channel, fill), traffic)
            campaign = pc.if_else(pa.array(mask), self.take(conv_campaign, fill), campaign)
        return Orders(
            ids, cookie, P.has_crm[B.local] & (self.rng.random(n) < 0.85), traffic, campaign
        )

    def _paid_campaign(self, traffic: pa.Array) -> pa.Array:
        out = pa.nulls(len(traffic), pa.string())
        for source, (campaigns, _) in PAID.items():
            pick = fmt.pick(campaigns, self.rng.integers(0, len(campaigns), len(traffic)))
            out = pc.if_else(pc.equal(traffic, source), pick, out)
        return out

    @cached_property
    def messaging(self) -> dict[str, np.ndarray | pa.Array]:
        """Outbound sends and their funnel events, one loop step per campaign."""
        P, rng = self.P, self.rng
        has_phone = pc.is_valid(P.phone).to_numpy(zero_copy_only=False)
        audience = {
            "email": P.consent & ~P.crm_email_missing,
            "sms": P.consent & has_phone & (P.gid % 5 < 2),
            # A push goes to an install once: a family tablet gets its owner's pushes.
            "push": P.consent & P.uses_app & P.owns_device,
        }
        gone = self.push_gone_t
        parts = {k: [] for k in ("local", "t", "type", "campaign", "channel")}
        schedule = campaign_schedule(self.ctx)
        for ci, (_, channel, day) in enumerate(schedule):
            eligible = audience[channel] & (P.acq < day) & ~(P.deleted_t < day)
            if channel == "push":  # an unregistered token is dropped after one push cycle
                eligible &= day < gone + MESSAGING["push"][1]
            local = np.flatnonzero(eligible & (rng.random(P.n) < 0.35))
            t0 = day + rng.uniform(0.3, 0.5, len(local))
            alive = self.alive_at(local, t0)
            u = rng.random((4, len(local)))
            bounce = u[0] < {"email": 0.03, "sms": 0.02, "push": 0.08}[channel]
            bounce |= (channel == "push") & (gone[local] <= day)
            engage = np.where(alive, 1.0, 0.35)
            opened = ~bounce & (u[1] < 0.28 * engage) & (channel != "sms")
            clicked = ~bounce & (u[2] < np.where(channel == "sms", 0.06, 0.2 * opened) * engage)
            unsub = ~bounce & (u[3] < 0.008)
            complaint = ~bounce & (u[3] > 0.999)
            events = (
                (np.ones(len(local), bool), 0.0, 0),
                (~bounce, 2 * MINUTE, 1),
                (bounce, 2 * MINUTE, 4),
                (opened, 0.3, 2),
                (clicked, 0.31, 3),
                (unsub, 0.32, 5),
                (complaint, 0.33, 6),
            )
            for mask, lag, etype in events:
                n = int(mask.sum())
                parts["local"].append(local[mask])
                parts["t"].append(t0[mask] + lag * rng.random(n) + (MINUTE if lag else 0))
                parts["type"].append(np.full(n, etype))
                parts["campaign"].append(np.full(n, ci))
                parts["channel"].append(np.full(n, channel))
        return {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}

    @cached_property
    def push_gone_t(self) -> np.ndarray:
        """When an install stops taking pushes (inf: never). Most churned app users
        remove the app within weeks of their last session (30 days after churn); an
        Android token left idle 270 days expires (FCM). A push after that bounces.
        Own random stream: call order free."""
        P, rng = self.P, self.ctx.rng(self.chunk, 2)
        last_session = np.where(P.alive, np.inf, np.nan_to_num(P.churn_t) + 30)
        removed = P.uses_app & (rng.random(P.n) < UNINSTALL_P)
        uninstall = np.where(removed, last_session + rng.exponential(30, P.n), np.inf)
        return np.minimum(uninstall, np.where(P.android, last_session + 270, np.inf))

    @cached_property
    def conversions(self) -> tuple[np.ndarray, pa.Array, pa.Array]:
        """Online orders placed within 3 days after a campaign click by the same person:
        (order index, campaign channel, campaign id)."""
        m = self.messaging
        clicks = np.flatnonzero(m["type"] == 3) if len(m["type"]) else np.array([], int)
        online = self.online
        if len(clicks) == 0 or len(online) == 0:
            return np.array([], int), pa.array([], pa.string()), pa.array([], pa.string())
        key = self.B.local[online] * 1e4 + self.B.t[online]  # online orders sorted by key
        order = np.argsort(key, kind="stable")
        ckey = m["local"][clicks] * 1e4 + m["t"][clicks]
        pos = np.searchsorted(key[order], ckey)
        ok = pos < len(order)
        hit = online[order[np.minimum(pos, len(order) - 1)]]
        ok &= (self.B.local[hit] == m["local"][clicks]) & (self.B.t[hit] - m["t"][clicks] < 3)
        hit, clicks = hit[ok], clicks[ok]
        hit, first = np.unique(hit, return_index=True)  # one click converts an order
        clicks = clicks[first]
        ids = [c for c, _, _ in campaign_schedule(self.ctx)]
        return hit, pa.array(m["channel"][clicks]), fmt.pick(ids, m["campaign"][clicks])

    @cached_property
    def order_versions(self) -> dict[str, np.ndarray]:
        """placed → shipped → delivered (→ returned), or placed → cancelled."""
        online, rng = self.online, self.rng
        t0 = self.B.t[online]
        n = len(online)
        cancelled = rng.random(n) < 0.05
        shipped = t0 + rng.uniform(0.5, 3, n)
        delivered = shipped + rng.uniform(1, 5, n)
        returned = ~cancelled & (rng.random(n) < 0.08)
        steps = (
            (np.ones(n, bool), t0, 0),
            (cancelled, t0 + rng.uniform(0.05, 1, n), 3),
            (~cancelled, shipped, 1),
            (~cancelled, delivered, 2),
            (returned, delivered + rng.uniform(3, 20, n), 4),
        )
        return {
            "order": np.concatenate([online[m] for m, _, _ in steps]),
            "t": np.concatenate([t[m] for m, t, _ in steps]),
            "status": np.concatenate([np.full(int(m.sum()), s) for m, _, s in steps]),
            "final": np.choose(cancelled.astype(int) + 2 * returned, [2, 3, 4]),
            "delivered_t": delivered,
        }

    @cached_property
    def tickets(self) -> dict[str, np.ndarray]:
        """Service tickets: after returns and cancellations, plus background contacts."""
        rng, B, V = self.rng, self.B, self.order_versions
        final = V["final"]
        ret = self.online[(final == 4) & (rng.random(len(final)) < 0.4)]
        canc = self.online[(final == 3) & (rng.random(len(final)) < 0.2)]
        bg_local, bg_t = self.spread(np.arange(self.P.n), 0.3)
        cat_bg = rng.choice(6, size=len(bg_local), p=[0.2, 0.35, 0.05, 0.12, 0.13, 0.15])
        local = np.concatenate([B.local[ret], B.local[canc], bg_local])
        t = np.concatenate([B.t[ret] + rng.uniform(5, 20, len(ret)), B.t[canc] + 1, bg_t])
        t = t + rng.uniform(0, 2, len(t))
        category = np.concatenate([np.full(len(ret), 2), np.full(len(canc), 0), cat_bg])
        related = np.concatenate([ret, canc, np.full(len(bg_local), -1)])
        habit = self.P.habit[local]
        contact = np.where(
            habit == 0,
            rng.choice([0, 3], size=len(t), p=[0.4, 0.6]),
            rng.choice([0, 1, 2, 4], size=len(t), p=[0.3, 0.4, 0.25, 0.05]),
        )
        median = np.array([3.0, 5.0, 240.0, 10.0, 120.0])[contact]
        tail = np.where(rng.random(len(t)) < 0.12, 8.0, 1.0)
        response = np.round(median * rng.lognormal(0, 0.6, len(t)) * tail, 1)
        closed = t + response / 1440 + rng.uniform(0.2, 5, len(t))
        return {
            "local": local,
            "t": t,
            "category": category,
            "related": related,
            "contact": contact,
            "response": response,
            "closed": closed,
            "pending": rng.random(len(t)) < 0.3,
            "reopened": (rng.random(len(t)) < 0.08).astype(np.int64),
        }

    # -- feedback texts: own random streams, so every other value is drawn as before ------
    @cached_property
    def language(self) -> np.ndarray:
        """Language each person writes feedback in: Chinese residents in Chinese (a few in
        English), everyone else in English."""
        english = self.ctx.rng(self.chunk, 6).random(self.P.n) < CN_ENGLISH_P
        return np.where((self.P.country == CN) & ~english, feedback.ZH, feedback.EN)

    @cached_property
    def ticket_feedback(self) -> dict[str, np.ndarray | pa.Array]:
        """Label codes and text of each ticket, shared by its versions and by the survey
        that follows it. Read after `tickets` (drawn from the main stream)."""
        T, rng = self.tickets, self.ctx.rng(self.chunk, 7)
        fb = {
            "language": self.language[T["local"]],
            "topic": feedback.draw(rng, TICKET_TOPIC_P[T["category"]]),
            "sentiment": feedback.draw(rng, TICKET_SENTIMENT_P[T["category"]]),
        }
        text = feedback.compose(rng, fb["language"], fb["topic"], fb["sentiment"], "ticket")
        return {**fb, "text": text}

    @staticmethod
    def _text_truth(fb: dict, idx: np.ndarray, missing: np.ndarray) -> dict[str, pa.Array]:
        """Ground-truth labels of the texts fb[...][idx], null where there is no text."""
        return {
            f"text_{name}": feedback.labels(names, fb[name][idx], missing)
            for name, names in (
                ("language", feedback.LANGUAGES),
                ("sentiment", feedback.SENTIMENTS),
                ("topic", feedback.TOPICS),
            )
        }

    # -- sources --------------------------------------------------------------------------
    def crm_customers(self) -> Batch:
        P, rng = self.P, self.rng
        crm = np.flatnonzero(P.has_crm)
        upd = crm[rng.random(len(crm)) < 0.2]
        upd_t = rng.uniform(np.clip(P.acq[upd], 0, None), self.ctx.days)
        chg = crm[np.isfinite(P.email_change_t[crm]) & (P.email_change_t[crm] > P.acq[crm])]
        dele = crm[P.deleted_t[crm] > P.acq[crm]]
        local = np.concatenate([crm, upd, chg, dele])
        t = np.concatenate([P.acq[crm], upd_t, P.email_change_t[chg], P.deleted_t[dele]])
        deleted = np.concatenate([np.zeros(len(local) - len(dele), bool), np.ones(len(dele), bool)])
        n = len(local)
        is_update = (np.arange(n) >= len(crm)) & (np.arange(n) < len(crm) + len(upd))
        city = fmt.pick(ALL_CITIES, self._city_index(local))
        birth = self.ctx.start_epoch // 86400 - rng.integers(18 * 365, 80 * 365, P.n)[local]
        consent = P.consent[local] ^ (np.arange(n) >= len(crm)) & (rng.random(n) < 0.3)
        cols = {
            "customer_ref": self.take(P.customer_ref, local),
            "updated_at": self.ts(t, TS_CRM),
            "first_name": pc.utf8_capitalize(self.take(P.first, local)),
            "last_name": pc.utf8_capitalize(self.take(P.last, local)),
            # No email for store sign-ups that never gave one; a few later versions
            # arrive with it blanked (survivorship keeps the latest non-null).
            "email": fmt.nulls_where(
                self.email(local, t),
                P.crm_email_missing[local] | (is_update & (rng.random(n) < 0.03)),
            ),
            "phone": self.phone(local),
            "loyalty_id": self.take(P.loyalty_id, local),
            "birth_date": self.some(fmt.dates(birth), 0.7),
            "gender": self.some(
                fmt.pick(("F", "M", "X"), rng.choice(3, n, p=[0.5, 0.45, 0.05])), 0.8
            ),
            "city": city,
            "country": fmt.pick(COUNTRIES, P.country[local]),
            "signup_date": fmt.dates(self.ctx.start_epoch // 86400 + np.floor(P.acq[local])),
            "marketing_consent": fmt.bools(consent),
            "is_deleted": fmt.bools(deleted),
        }
        for pii in ("first_name", "last_name", "email", "phone", "birth_date", "city"):
            cols[pii] = fmt.nulls_where(cols[pii], deleted)
        day = np.maximum(self.deliver(t), 0)  # the existing base arrives in the first load
        return self.batch("crm_customers", cols, local, day, t)

    def web_orders(self) -> Batch:
        P, B, OR, V, rng = self.P, self.B, self.orders, self.order_versions, self.rng
        online = self.online
        local = B.local[online]
        n = len(online)
        guest = ~P.has_crm[local]
        email = self.email(local, B.t[online])
        email = pc.if_else(pa.array(guest & (rng.random(n) < 0.02)), "test@test.com", email)
        phone = self.some(self.phone(local), 0.4)
        phone = pc.if_else(pa.array(rng.random(n) < 0.005), "0000000000", phone)
        app = B.channel[online] == APP
        coupon = fmt.pick(("SAVE10", "WELCOME15", "XMAS25", "SPRING5"), rng.integers(0, 4, n))
        disc = B.discount[online]
        per_order = {
            "order_id": self.take(OR.ids, online),
            "order_ts": self.ts(B.t[online], TS_WEB),
            "storefront": fmt.pick(("web", "app"), app.astype(np.int8)),
            "customer_ref": fmt.nulls_where(
                self.take(P.customer_ref, local), ~OR.logged_in[online]
            ),
            "email": email,
            "phone": phone,
            "loyalty_id": self.some(self.take(P.loyalty_id, local), 0.5),
            "cookie_id": fmt.nulls_where(self.take(OR.cookie, online), app),
            "device_id": fmt.nulls_where(self.take(P.device_id, local), ~app),
            "currency": self.currency(local),
            "gross_amount": fmt.money(B.gross[online]),
            "discount_amount": fmt.nulls_where(
                fmt.money(disc), (disc == 0) & (rng.random(n) < 0.5)
            ),
            "net_amount": fmt.money(B.net[online]),
            "item_count": fmt.text(B.items[online]),
            "coupon_code": fmt.nulls_where(coupon, disc == 0),
            "ship_city": fmt.pick(ALL_CITIES, self._city_index(local)),
            "ship_country": fmt.pick(COUNTRIES, P.country[local]),
        }
        pos = np.searchsorted(online, V["order"])
        cols = {k: v.take(pa.array(pos)) for k, v in per_order.items()}
        cols["updated_at"] = self.ts(V["t"], TS_WEB)
        cols["status"] = fmt.pick(
            ("placed", "shipped", "delivered", "cancelled", "returned"), V["status"]
        )
        return self.batch("web_orders", cols, local[pos], self.deliver(V["t"]), V["t"])

    def _city_index(self, local: np.ndarray) -> np.ndarray:
        offsets = np.cumsum([0] + [len(c) for c in CITY_BY_COUNTRY])[:-1]
        sizes = np.array([len(c) for c in CITY_BY_COUNTRY])
        c = self.P.country[local]
        return offsets[c] + self.P.gid[local] % sizes[c]

    def pos_transactions(self) -> Batch:
        P, B, rng = self.P, self.B, self.rng
        sales = np.flatnonzero(B.channel == STORE)
        returns = sales[rng.random(len(sales)) < 0.06]
        rows = np.concatenate([sales, returns])
        is_ret = np.arange(len(rows)) >= len(sales)
        n, local = len(rows), B.local[rows]
        t = B.t[rows] + np.where(is_ret, rng.uniform(1, 20, n), 0)
        store = np.where(
            rng.random(n) < 0.85, P.home_store[local], rng.integers(0, self.ctx.n_stores, n)
        )
        store_phone = fmt.join("800555", fmt.text(1000 + store * 3 + rng.integers(0, 3, n)))
        # A member is found by card scan or, without it, by phone lookup; a non-member
        # sometimes leaves a phone for an e-receipt. Some pay cash (no card).
        member = pc.is_valid(self.take(P.loyalty_id, local)).to_numpy(zero_copy_only=False)
        scanned = member & (rng.random(n) < 0.8)
        phone_p = np.where(scanned, 0.05, np.where(member, 0.6, 0.3))
        phone = fmt.nulls_where(self.phone(local), rng.random(n) >= phone_p)
        # Placeholders typed at the till: the store's own phone, all zeros. The lowest
        # draws of each kind always plant one, even in a tiny chunk.
        u = rng.random(n)
        store_ph = u < 0.03
        zeros_ph = (u >= 0.03) & (u < 0.04)
        if n >= 2:
            store_ph[np.argmin(u)] = True
            zeros_ph[np.argmin(np.where(store_ph, 2.0, u))] = True
        phone = pc.if_else(pa.array(store_ph), store_phone, phone)
        phone = pc.if_else(pa.array(zeros_ph), "0000000000", phone)
        second = rng.random(n) < 0.3
        card = pc.if_else(
            pa.array(second), self.take(P.card2, local), self.take(P.card_hash, local)
        )
        card = pc.coalesce(card, self.take(P.card_hash, local))
        sign = np.where(is_ret, -1, 1)
        sale_ids = self.take(self.orders.ids, rows)
        cols = {
            "transaction_id": pc.if_else(pa.array(is_ret), self.rid("R", n), sale_ids),
            "store_id": fmt.ids("S", store, 3),
            "txn_ts": self.ts(t, style=np.array(STORE_TZ)[store % 4]),
            "txn_type": fmt.pick(("sale", "return"), is_ret.astype(np.int8)),
            "loyalty_id": fmt.nulls_where(self.take(P.loyalty_id, local), ~scanned),
            "phone": phone,
            "card_hash": self.some(card, 0.85),
            "currency": self.currency(local),
            "gross_amount": fmt.money(sign * B.gross[rows]),
            "discount_amount": fmt.money(B.discount[rows]),
            "net_amount": fmt.money(sign * B.net[rows]),
            "item_count": fmt.text(B.items[rows]),
            "original_transaction_id": fmt.nulls_where(sale_ids, ~is_ret),
        }
        # A store uploads a whole day late now and then (2-5 days).
        slot = store * 100_000 + np.floor(t).astype(np.int64)
        late_slot = (slot * 2654435761 + self.ctx.seed) % 100 < 4
        day = np.floor(t).astype(np.int64) + np.where(late_slot, 2 + slot % 4, 0)
        return self.batch("pos_transactions", cols, local, day, t)

    def web_sessions(self) -> Batch:
        P, B, OR, rng, m = self.P, self.B, self.orders, self.rng, self.messaging
        conv = self.online[B.channel[self.online] == WEB]
        clicks = (
            np.flatnonzero(
                (m["type"] == 3)
                & (m["channel"] != "push")
                & P.uses_web[m["local"].astype(np.int64)]
            )
            if len(m["type"])
            else np.array([], int)
        )
        web_users = np.flatnonzero(P.uses_web)
        b_local, b_t = self.spread(web_users, 6.0)
        k_conv = len(conv)
        click_local = m["local"][clicks].astype(np.int64)
        local = np.concatenate([B.local[conv], click_local, b_local])
        t = np.concatenate(
            [B.t[conv] - rng.uniform(5, 40, k_conv) * MINUTE, m["t"][clicks] + MINUTE, b_t]
        )
        n = len(local)
        ids = [c for c, _, _ in campaign_schedule(self.ctx)]
        browse_src = fmt.pick(
            ORGANIC_SOURCES, rng.choice(len(ORGANIC_SOURCES), len(b_local), p=ORGANIC_P)
        )
        traffic = pa.concat_arrays(
            [self.take(OR.traffic, conv), pa.array(m["channel"][clicks], pa.string()), browse_src]
        )
        # A push-driven order placed on the web arrives untagged: web analytics has no
        # `push` traffic source in the contract.
        traffic = pc.if_else(pc.equal(traffic, "push"), "direct", traffic)
        campaign = pa.concat_arrays(
            [
                self.take(OR.campaign, conv),
                fmt.pick(ids, m["campaign"][clicks].astype(np.int64)),
                self._paid_campaign(browse_src),
            ]
        )
        cookie = pa.concat_arrays(
            [
                self.take(OR.cookie, conv),
                self.take(P.cookie_id, np.concatenate([click_local, b_local])),
            ]
        )
        # A campaign link is personal (the sender's tracking identifies the clicker);
        # a browsing visitor is signed in half the time.
        logged = np.concatenate(
            [
                OR.logged_in[conv],
                P.has_crm[click_local],
                P.has_crm[b_local] & (rng.random(len(b_local)) < 0.5),
            ]
        )
        order_id = pa.concat_arrays([self.take(OR.ids, conv), pa.nulls(n - k_conv, pa.string())])
        cols = {
            "session_id": self.rid("WS", n),
            "session_start": self.ts(t, TS_WEB),
            "cookie_id": cookie,
            "customer_ref": fmt.nulls_where(self.take(P.customer_ref, local), ~logged),
            "traffic_source": traffic,
            "campaign_id": campaign,
            "landing_page": fmt.pick(PAGES, rng.integers(0, len(PAGES), n)),
            "device_type": fmt.pick(
                ("desktop", "mobile", "tablet"), rng.choice(3, n, p=[0.5, 0.42, 0.08])
            ),
            "pageviews": fmt.text(1 + rng.poisson(4, n) + 3 * (np.arange(n) < k_conv)),
            "order_id": order_id,
        }
        return self.batch("web_sessions", cols, local, self.deliver(t), t)

    def app_events(self) -> Batch:
        P, B, OR, rng, m = self.P, self.B, self.orders, self.rng, self.messaging
        buys = self.online[B.channel[self.online] == APP]
        s_local, s_t = self.spread(np.flatnonzero(P.uses_app), 8.0)
        pushes = (
            np.flatnonzero((m["type"] == 2) & (m["channel"] == "push"))
            if len(m["type"])
            else np.array([], int)
        )
        # An install in the window opens the app shortly before the first purchase.
        installs = np.flatnonzero(P.uses_app & (P.acq >= 0))
        # Sessions: purchase flows (5 events), browsing (app_open + views), push opens (1),
        # first open after install (1).
        sizes = (len(buys), len(s_local), len(pushes), len(installs))
        s_kind = np.repeat(np.arange(4), sizes)
        s_owner = np.concatenate(
            [B.local[buys], s_local, m["local"][pushes].astype(np.int64), installs]
        )
        s_start = np.concatenate(
            [
                B.t[buys] - 10 * MINUTE,
                s_t,
                m["t"][pushes],
                np.maximum(P.acq[installs] - rng.uniform(15, 120, len(installs)) * MINUTE, 0),
            ]
        )
        # Login is a session state: an app keeps its user signed in (the purchase
        # session shares the order's state), a fresh install signs in a bit less often.
        logged_in = P.has_crm[s_owner] & (
            rng.random(len(s_kind)) < np.choose(s_kind, [0.0, 0.9, 0.9, 0.8])
        )
        logged_in[: len(buys)] = OR.logged_in[buys]
        views = rng.poisson(1.5, len(s_kind))
        counts = np.choose(s_kind, [5, 1 + views, 1, 1])
        sess = _repeat_index(counts)
        step = np.arange(len(sess)) - np.repeat(np.cumsum(counts) - counts, counts)
        kind = s_kind[sess]
        etype = np.choose(
            kind,
            [
                np.minimum(step, 4),
                np.minimum(step, 1),
                np.full(len(sess), 5),
                np.zeros(len(sess), int),
            ],
        )
        etype = np.where(
            (kind == 1) & (step == counts[sess] - 1) & (step > 1) & (rng.random(len(sess)) < 0.3),
            2,
            etype,
        )
        # purchase flow steps: app_open, product_view, add_to_cart, checkout_start, purchase
        etype = np.where(kind == 0, step, etype)
        local = s_owner[sess]
        t = s_start[sess] + step * 2 * MINUTE
        n = len(sess)
        order_of_session = np.full(len(s_kind), -1)
        order_of_session[: len(buys)] = buys
        order = order_of_session[sess]
        is_purchase = (kind == 0) & (step == 4)
        order_id = fmt.nulls_where(self.take(OR.ids, np.maximum(order, 0)), ~is_purchase)
        ids = [c for c, _, _ in campaign_schedule(self.ctx)]
        camp_of_session = np.full(len(s_kind), 0)
        camp_of_session[s_kind == 2] = m["campaign"][pushes].astype(np.int64)
        campaign = fmt.nulls_where(fmt.pick(ids, camp_of_session[sess]), kind != 2)
        platform = fmt.pick(("ios", "android"), P.android[local])
        cols = {
            "event_id": self.rid("AE", n),
            "event_ts": self.ts(t, (40, 30, 10, 10, 5, 5, 0)),
            "device_id": self.take(P.device_id, local),
            "customer_ref": fmt.nulls_where(self.take(P.customer_ref, local), ~logged_in[sess]),
            "platform": platform,
            "session_id": self.take(self.rid("AS", len(s_kind)), sess),
            "event_type": fmt.pick(
                (
                    "app_open",
                    "product_view",
                    "add_to_cart",
                    "checkout_start",
                    "purchase",
                    "push_open",
                ),
                etype,
            ),
            "order_id": order_id,
            "campaign_id": campaign,
        }
        extra = {
            "app_version": fmt.pick(
                ("5.1.0", "5.2.1", "5.3.0"), np.clip(t // 120, 0, 2).astype(int)
            )
        }
        return self.batch("app_events", cols, local, self.deliver(t), t, extra)

    def social_interactions(self) -> Batch:
        P, rng = self.P, self.rng
        local, t = self.spread(np.flatnonzero(P.social_platform >= 0), 5.0)
        n = len(local)
        handle = self.take(P.handle, local)
        u = rng.random(n)
        handle = pc.if_else(pa.array(u < 0.3), fmt.join("@", handle), handle)
        handle = pc.if_else(pa.array(u > 0.9), pc.utf8_upper(handle), handle)
        linked = t >= self._social_link_t(local, t)[local]
        itype = rng.choice(6, n, p=[0.15, 0.4, 0.15, 0.1, 0.12, 0.08])
        fb = self._social_feedback(local, itype)
        cols = {
            "interaction_id": self.rid("SI", n),
            "interaction_ts": self.ts(t),
            "platform": fmt.pick(SOCIAL_PLATFORMS, P.social_platform[local]),
            "handle": handle,
            "customer_ref": fmt.nulls_where(self.take(P.customer_ref, local), ~linked),
            "interaction_type": fmt.pick(
                ("follow", "like", "comment", "share", "mention", "direct_message"), itype
            ),
            "text": fmt.nulls_where(fb["text"], itype < COMMENT),
        }
        truth = self._text_truth(fb, np.arange(n), itype < COMMENT)
        return self.batch("social_interactions", cols, local, self.deliver(t), t, truth=truth)

    def _social_feedback(self, local: np.ndarray, itype: np.ndarray) -> dict:
        """Posts in the mood of the person (latent satisfaction, noisy); direct messages
        are mostly questions. WeChat and Weibo posts are in Chinese."""
        rng, n = self.ctx.rng(self.chunk, 9), len(local)
        mood = self.P.satisfaction[local] + rng.normal(0, 0.7, n) + 0.4 * (itype == SHARE)
        sentiment = np.digitize(mood, (-0.6, 0.6))
        asks = (itype == DIRECT_MESSAGE) & (rng.random(n) < 0.6)
        sentiment = np.where(asks, feedback.NEUTRAL, sentiment)
        topic = feedback.draw(rng, SOCIAL_TOPIC_P[itype])
        chinese_app = np.isin(self.P.social_platform[local], CHINESE_PLATFORMS)
        language = np.where(chinese_app, feedback.ZH, self.language[local])
        emoji = (itype == COMMENT) & ~chinese_app & (rng.random(n) < 0.03)  # no words
        language = np.where(emoji, feedback.UND, language)
        topic = np.where(emoji, feedback.TOPICS.index("other"), topic)
        text = feedback.compose(rng, language, topic, sentiment, "social")
        at = fmt.join(fmt.pick(("@brand ", "@品牌官方 ", ""), language), text)
        text = pc.if_else(pa.array(itype == MENTION), at, text)
        return {"language": language, "topic": topic, "sentiment": sentiment, "text": text}

    def _social_link_t(self, local: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Per person, when their social account gets linked to their CRM profile (inf:
        never): most customers link it in one of their interactions (a DM about an
        order, a social login) and stay linked; people without a profile cannot."""
        P = self.P
        will_link = P.has_crm & (self.rng.random(P.n) < SOCIAL_LINK_P)
        key = self.rng.random(len(local))  # the interaction that links: a random one
        best = np.full(P.n, -1.0)
        np.maximum.at(best, local, key)
        at = key == best[local]
        link_t = np.full(P.n, np.inf)
        np.minimum.at(link_t, local[at], t[at])
        return np.where(will_link, link_t, np.inf)

    def campaign_events(self) -> Batch:
        P, m = self.P, self.messaging
        conv_order, conv_channel, conv_campaign = self.conversions
        ids = [c for c, _, _ in campaign_schedule(self.ctx)]
        local = np.concatenate([m["local"].astype(np.int64), self.B.local[conv_order]])
        t = np.concatenate([m["t"], self.B.t[conv_order] + MINUTE])
        n, k = len(local), len(m["local"])
        channel = pa.concat_arrays([pa.array(m["channel"], pa.string()), conv_channel])
        is_ch = {c: pc.equal(channel, c).to_numpy(zero_copy_only=False) for c in MESSAGING}
        etype = np.concatenate([m["type"].astype(np.int64), np.full(len(conv_order), 7)])
        cols = {
            "event_id": self.rid("CE", n),
            "event_ts": self.ts(t),
            "campaign_id": pa.concat_arrays(
                [fmt.pick(ids, m["campaign"].astype(np.int64)), conv_campaign]
            ),
            "channel": channel,
            "email": fmt.nulls_where(self.email(local, t), ~is_ch["email"]),
            "phone": fmt.nulls_where(self.phone(local), ~is_ch["sms"]),
            "device_id": fmt.nulls_where(self.take(P.device_id, local), ~is_ch["push"]),
            "event_type": fmt.pick(
                SOURCES_BY_NAME["campaign_events"].column("event_type").values, etype
            ),
            "order_id": fmt.nulls_where(
                pa.concat_arrays(
                    [pa.nulls(k, pa.string()), self.take(self.orders.ids, conv_order)]
                ),
                etype != 7,
            ),
        }
        return self.batch("campaign_events", cols, local, self.deliver(t, 0.02), t)

    def service_tickets(self) -> Batch:
        P, T, rng = self.P, self.tickets, self.rng
        k = len(T["t"])
        ticket = np.concatenate([np.arange(k), np.flatnonzero(T["pending"]), np.arange(k)])
        version = np.concatenate(
            [np.zeros(k, int), np.ones(int(T["pending"].sum()), int), np.full(k, 2)]
        )
        t = np.choose(
            version,
            [T["t"][ticket], T["t"][ticket] + T["response"][ticket] / 1440, T["closed"][ticket]],
        )
        local = T["local"][ticket]
        n = len(ticket)
        per_ticket_ids = self.rid("TK", k)
        final_status = np.where(rng.random(k) < 0.7, 3, 2)
        status = np.choose(version, [np.zeros(n, int), np.ones(n, int), final_status[ticket]])
        last = version == 2
        category = T["category"][ticket]
        priority = np.where(category == 0, 2, rng.choice(4, n, p=[0.3, 0.55, 0.1, 0.05]))
        cols = {
            "ticket_id": self.take(per_ticket_ids, ticket),
            "opened_ts": self.ts(T["t"][ticket]),
            "updated_at": self.ts(t),
            "closed_ts": fmt.nulls_where(self.ts(T["closed"][ticket]), ~last),
            "contact_channel": fmt.pick(
                ("phone", "chat", "email", "store", "social"), T["contact"][ticket]
            ),
            "customer_ref": self.some(self.take(P.customer_ref, local), 0.7),
            "email": fmt.nulls_where(
                self.email(local, t), rng.random(n) >= TICKET_EMAIL_P[T["contact"][ticket]]
            ),
            "phone": fmt.nulls_where(
                self.phone(local), rng.random(n) >= TICKET_PHONE_P[T["contact"][ticket]]
            ),
            "category": fmt.pick(CATEGORIES, category),
            "priority": fmt.pick(("low", "normal", "high", "urgent"), priority),
            "status": fmt.pick(("open", "pending", "resolved", "closed"), status),
            "first_response_minutes": fmt.nulls_where(
                fmt.text(T["response"][ticket]), version == 0
            ),
            "reopened_count": fmt.text(np.where(last, T["reopened"][ticket], 0)),
            "text": self.take(self.ticket_feedback["text"], ticket),
        }
        truth = self._text_truth(self.ticket_feedback, ticket, np.zeros(n, bool))
        return self.batch("service_tickets", cols, local, self.deliver(t), t, truth=truth)

    def survey_responses(self) -> Batch:
        P, B, T, V, OR, rng = (
            self.P,
            self.B,
            self.tickets,
            self.order_versions,
            self.orders,
            self.rng,
        )
        online = self.online
        after_order = np.flatnonzero((V["final"] != 3) & (rng.random(len(online)) < 0.12))
        sales = np.flatnonzero((B.channel == STORE) & (rng.random(len(B.t)) < 0.06))
        closed = np.flatnonzero(rng.random(len(T["t"])) < 0.35)
        local = np.concatenate([B.local[online[after_order]], B.local[sales], T["local"][closed]])
        t = np.concatenate(
            [
                V["delivered_t"][after_order] + rng.uniform(0.5, 3, len(after_order)),
                B.t[sales] + rng.uniform(0.1, 2, len(sales)),
                T["closed"][closed] + rng.uniform(0.1, 2, len(closed)),
            ]
        )
        n = len(local)
        order_touch = np.where(B.channel[online[after_order]] == APP, 1, 0)
        survey = np.concatenate(
            [
                np.ones(len(after_order), int),  # csat after an order
                np.zeros(len(sales), int),  # nps after a store visit
                np.where(rng.random(len(closed)) < 0.6, 2, 1),  # ces or csat after service
            ]
        )
        touch = np.concatenate(
            [
                np.where(rng.random(len(after_order)) < 0.5, 4, order_touch),
                np.full(len(sales), 2),
                np.full(len(closed), 3),
            ]
        )
        # Satisfaction: the person's latent mood minus what service did to them.
        complaint_people = np.zeros(P.n, bool)
        complaint_people[T["local"][T["category"] == 0]] = True
        long_wait = np.zeros(n, bool)
        long_wait[len(after_order) + len(sales) :] = T["response"][closed] > 240
        bad_order = np.zeros(n, bool)
        bad_order[: len(after_order)] = V["final"][after_order] == 4
        z = P.satisfaction[local] + rng.normal(0, 0.7, n)
        z -= 1.3 * complaint_people[local] + 1.2 * long_wait + 0.8 * bad_order
        score = np.choose(
            survey,
            [
                np.clip(np.round(7.6 + 1.8 * z), 0, 10),
                np.clip(np.round(3.9 + 0.9 * z), 1, 5),
                np.clip(np.round(5.2 + 1.3 * z), 1, 7),
            ],
        ).astype(np.int64)
        related = pa.concat_arrays(
            [
                self.take(OR.ids, online[after_order]),
                self.take(OR.ids, sales),
                self.take(self.rid("TK", len(T["t"])), closed),
            ]
        )
        # The invitation is a personal link sent by email, or by SMS to a known phone.
        has_phone = pc.is_valid(self.take(P.phone, local)).to_numpy(zero_copy_only=False)
        by_sms = has_phone & (rng.random(n) < 0.15)
        bucket = np.clip((z + 2).astype(int), 0, 4)
        cols = {
            "response_id": self.rid("SR", n),
            "response_ts": self.ts(t),
            "survey_type": fmt.pick(("nps", "csat", "ces"), survey),
            "score": fmt.text(score),
            "touchpoint": fmt.pick(("web", "app", "store", "service", "delivery"), touch),
            "customer_ref": self.take(P.customer_ref, local),
            "email": fmt.nulls_where(self.email(local, t), by_sms),
            "phone": fmt.nulls_where(self.phone(local), ~by_sms),
            "related_id": related,
        }
        # The least satisfied comment most often, as respondents do. The main stream's
        # last draw, the same one as before the comments had words.
        silent = rng.random(n) < np.where(bucket == 0, 0.3, 0.6)
        # Why the survey came: the order was returned or late, a store visit, a ticket.
        k_order, k_sales = len(after_order), len(sales)
        late = V["delivered_t"][after_order] - B.t[online[after_order]] > LATE_DAYS
        cause = np.concatenate(
            [
                np.where(bad_order[:k_order], RETURNED, np.where(late, LATE, ORDER)),
                np.full(k_sales, STORE_VISIT),
                np.where(long_wait[k_order + k_sales :], LONG_WAIT, SERVICE),
            ]
        )
        ticket_topic = np.concatenate(
            [np.full(k_order + k_sales, -1), self.ticket_feedback["topic"][closed]]
        )
        fb = self._survey_feedback(local, survey, score, cause, ticket_topic)
        cols["comment"] = fmt.nulls_where(fb["text"], silent)
        truth = self._text_truth(fb, np.arange(n), silent)
        return self.batch("survey_responses", cols, local, self.deliver(t), t, truth=truth)

    def _survey_feedback(self, local, survey, score, cause, ticket_topic) -> dict:
        """A comment whose sentiment follows the score and whose topic follows the cause."""
        rng = self.ctx.rng(self.chunk, 8)
        sentiment = feedback.draw(rng, SURVEY_SENTIMENT_P[survey, score])
        p = SURVEY_TOPIC_P[cause]
        follows = np.flatnonzero(ticket_topic >= 0)
        p[follows, ticket_topic[follows]] += p[follows, -1]
        fb = {
            "language": self.language[local],
            "topic": feedback.draw(rng, p[:, :-1]),
            "sentiment": sentiment,
        }
        text = feedback.compose(rng, fb["language"], fb["topic"], fb["sentiment"], "survey")
        return {**fb, "text": text}

    def loyalty_ledger(self) -> Batch:
        P, B, OR, V, rng = self.P, self.B, self.orders, self.order_versions, self.rng
        members = P.has_loyalty
        buy = np.flatnonzero(members[B.local])
        double = P.treated[B.local[buy]] & (B.t[buy] >= P.assign_t[B.local[buy]])
        earn = (B.net[buy] // 100) * np.where(double, 2, 1)
        # Redeem 500 points at some purchases once enough was earned before them.
        grp = B.local[buy]
        order = np.lexsort((B.t[buy], grp))
        cum = np.cumsum(earn[order])
        starts = np.searchsorted(grp[order], grp[order], side="left")
        before = np.empty(len(buy), np.int64)
        before[order] = cum - earn[order] - np.concatenate([[0], cum])[starts]
        redeem = (before >= 500) & (rng.random(len(buy)) < 0.15)
        returned_orders = self.online[V["final"] == 4]
        ret = returned_orders[members[B.local[returned_orders]]]
        ret_pts = -(B.net[ret] // 100)
        new = np.flatnonzero(members & (P.acq >= 0))
        parts = (  # (person, t, type, points, channel, related purchase, reason)
            (B.local[buy], B.t[buy] + MINUTE, 0, earn, B.channel[buy], buy, np.where(double, 1, 0)),
            (
                B.local[buy][redeem],
                B.t[buy][redeem],
                1,
                np.full(int(redeem.sum()), -500),
                B.channel[buy][redeem],
                buy[redeem],
                2,
            ),
            (B.local[ret], B.t[ret] + 10, 3, ret_pts, B.channel[ret], ret, 3),
            (new, P.acq[new] + MINUTE, 4, np.full(len(new), 200), 4, -1, 4),
        )
        local = np.concatenate([p[0] for p in parts])
        t = np.concatenate([p[1] for p in parts])
        sizes = [len(p[0]) for p in parts]
        etype = np.repeat([p[2] for p in parts], sizes)
        points = np.concatenate(
            [np.broadcast_to(p[3], (s,)) for p, s in zip(parts, sizes, strict=True)]
        )
        channel = np.concatenate(
            [np.broadcast_to(p[4], (s,)) for p, s in zip(parts, sizes, strict=True)]
        )
        related = np.concatenate(
            [np.broadcast_to(p[5], (s,)) for p, s in zip(parts, sizes, strict=True)]
        )
        reason = np.concatenate(
            [np.broadcast_to(p[6], (s,)) for p, s in zip(parts, sizes, strict=True)]
        )
        # Points of members inactive for 180 days expire.
        last = np.full(P.n, -np.inf)
        np.maximum.at(last, local, t)
        balance = np.bincount(local, weights=points, minlength=P.n).astype(np.int64)
        lapsed = np.flatnonzero(members & (last + 180 < self.ctx.days) & (balance > 0))
        local = np.concatenate([local, lapsed])
        t = np.concatenate([t, last[lapsed] + 180])
        etype = np.concatenate([etype, np.full(len(lapsed), 2)])
        points = np.concatenate([points, -balance[lapsed]])
        channel = np.concatenate([channel, np.full(len(lapsed), 4)])
        related = np.concatenate([related, np.full(len(lapsed), -1)])
        reason = np.concatenate([reason, np.full(len(lapsed), 5)])
        keep = t >= 0
        local, t, etype, points, channel, related, reason = (
            a[keep] for a in (local, t, etype, points, channel, related, reason)
        )
        n = len(local)
        cols = {
            "entry_id": self.rid("LE", n),
            "entry_ts": self.ts(t),
            "loyalty_id": self.take(P.loyalty_id, local),
            "entry_type": fmt.pick(("earn", "redeem", "expire", "adjust", "bonus"), etype),
            "points": fmt.text(points),
            "source_channel": fmt.pick(("web", "app", "store", "partner", "system"), channel),
            "related_id": fmt.nulls_where(self.take(OR.ids, np.maximum(related, 0)), related < 0),
            "reason": fmt.pick(
                (
                    "purchase",
                    "double points purchase",
                    "reward redemption",
                    "order returned",
                    "welcome bonus",
                    "inactivity expiry",
                ),
                reason,
            ),
        }
        return self.batch("loyalty_ledger", cols, local, self.deliver(t), t)

    def experiment_assignments(self) -> Batch:
        P = self.P
        local = np.flatnonzero(P.in_experiment)
        t = P.assign_t[local]
        treated = P.treated[local].astype(np.int8)
        cols = {
            "experiment_id": fmt.pick((EXPERIMENT_ID,), np.zeros(len(local), int)),
            "variant": fmt.pick(("control", "double_points"), treated),
            "assigned_ts": self.ts(t),
            "incentive_type": fmt.pick(("none", "double_points"), treated),
            "customer_ref": self.take(P.customer_ref, local),
            "loyalty_id": self.take(P.loyalty_id, local),
            "email": self.some(fmt.email_variants(self.rng, self.take(P.email, local)), 0.5),
        }
        return self.batch("experiment_assignments", cols, local, self.deliver(t), t)

    def marketing_spend(self) -> Batch:
        """Company-wide paid spend (written with chunk 0): day × channel × campaign."""
        ctx, rng = self.ctx, self.rng
        scale = ctx.customers / 10_000
        catalog = [
            (ch, c, cur, base)
            for ch, (cs, curs) in PAID.items()
            for c, cur in zip(cs, curs, strict=True)
            for base in [
                {
                    "paid_search": 900,
                    "social": 500,
                    "display": 300,
                    "affiliate": 200,
                    "store_promo": 400,
                }[ch]
            ]
        ]
        days = np.arange(ctx.days)
        k = len(catalog)
        d = np.tile(days, k)
        which = np.repeat(np.arange(k), ctx.days)
        base = np.array([c[3] for c in catalog])[which] * scale * ctx.season(d + 0.5)
        promo = np.array([c[0] == "store_promo" for c in catalog])[which]
        active = ~promo | (ctx.season(d + 0.5) > 1.2) | (rng.random(len(d)) < 0.1)
        cents = np.round(base * rng.lognormal(0, 0.25, len(d)) * 100).astype(np.int64)
        cpm = np.array(
            [
                {"paid_search": 12, "social": 7, "display": 3, "affiliate": 9, "store_promo": 15}[
                    c[0]
                ]
                for c in catalog
            ]
        )[which]
        schedule = campaign_schedule(ctx)
        msg_days = np.array([s[2] for s in schedule], dtype=np.int64)
        msg_cents = np.round(scale * rng.uniform(20, 60, len(schedule)) * 100).astype(np.int64)
        d = np.concatenate([d[active], msg_days])
        cents = np.concatenate([cents[active], msg_cents])
        impressions = np.concatenate(
            [
                cents[: int(active.sum())] * 10 // cpm[active],
                np.round(scale * 3500 * rng.uniform(0.8, 1.2, len(schedule))),
            ]
        )
        impressions = impressions.astype(np.int64)
        clicks = (impressions * rng.uniform(0.005, 0.03, len(d))).astype(np.int64)
        channel = np.concatenate(
            [np.array([c[0] for c in catalog])[which][active], np.array([s[1] for s in schedule])]
        )
        campaign = np.concatenate(
            [np.array([c[1] for c in catalog])[which][active], np.array([s[0] for s in schedule])]
        )
        currency = np.concatenate(
            [np.array([c[2] for c in catalog])[which][active], np.full(len(schedule), "USD")]
        )
        keep = channel != "push"  # push sends cost nothing
        cols = {
            "spend_date": fmt.dates(ctx.start_epoch // 86400 + d[keep]),
            "channel": pa.array(channel[keep], pa.string()),
            "campaign_id": pa.array(campaign[keep], pa.string()),
            "spend": fmt.money(cents[keep]),
            "currency": pa.array(currency[keep], pa.string()),
            "impressions": fmt.text(impressions[keep]),
            "clicks": fmt.text(clicks[keep]),
        }
        t = d[keep] + 0.5
        return self.batch("marketing_spend", cols, None, d[keep] + 1, t)
