"""Latent people and their buying: who they are, how they shop, when they churn.

Purchases follow a BG/NBD-like process (Fader, Hardie & Lee 2005): each person buys
at a Poisson rate λ ~ Gamma while alive and drops out after any purchase with
probability p ~ Beta. The first purchase is the acquisition. A monthly seasonality
(Nov/Dec peak) thins the process, and the treatment arm of the incentive test buys
faster after its assignment. Everything a later model should find is planted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator import fmt

STORE_ONLY, ONLINE_ONLY, OMNI = 0, 1, 2
HABITS = ("store_only", "online_only", "omnichannel")
WEB, APP, STORE = 0, 1, 2
CHANNELS = ("web", "app", "store")

SEASON = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.45, 1.75])
GAMMA_R, GAMMA_ALPHA = 1.2, 90.0  # λ per day: mean r/α ≈ 4.9 purchases a year
BETA_A, BETA_B = 0.8, 4.0  # dropout p: mean ≈ 0.17
TREATMENT_LIFT = 1.15  # double_points buys 15 % more often after assignment
EXISTING_SHARE = 0.6  # persons acquired before the window (existing base)
HISTORY_DAYS = 365  # how far back the existing base was acquired

FIRST_NAMES = tuple(
    [
        "anna",
        "james",
        "maria",
        "john",
        "linda",
        "robert",
        "sarah",
        "michael",
        "emma",
        "david",
        "olivia",
        "daniel",
        "sofia",
        "thomas",
        "mia",
        "kevin",
        "laura",
        "brian",
        "chloe",
        "jason",
        "nina",
        "peter",
        "grace",
        "lucas",
        "zoe",
    ]
)
LAST_NAMES = tuple(
    [
        "smith",
        "johnson",
        "brown",
        "garcia",
        "miller",
        "davis",
        "wilson",
        "moore",
        "taylor",
        "anderson",
        "thomas",
        "jackson",
        "white",
        "harris",
        "martin",
        "thompson",
        "lee",
        "walker",
        "young",
        "king",
        "wright",
        "lopez",
        "hill",
    ]
)
# Common Chinese family names and given-name characters, each with its pinyin for the
# ASCII e-mail local parts and handles.
CN_SURNAMES, CN_SURNAMES_PINYIN = zip(
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
    ("曾", "zeng"),
    ("肖", "xiao"),
    ("田", "tian"),
    ("董", "dong"),
    ("袁", "yuan"),
    ("潘", "pan"),
    ("于", "yu"),
    ("蒋", "jiang"),
    ("蔡", "cai"),
    strict=True,
)
CN_GIVEN, CN_GIVEN_PINYIN = zip(
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("英", "ying"),
    ("华", "hua"),
    ("玉", "yu"),
    ("萍", "ping"),
    ("红", "hong"),
    ("建", "jian"),
    ("文", "wen"),
    ("辉", "hui"),
    ("鹏", "peng"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("欣", "xin"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("琳", "lin"),
    ("晨", "chen"),
    ("阳", "yang"),
    ("佳", "jia"),
    ("子", "zi"),
    ("怡", "yi"),
    ("梓", "zi"),
    ("涵", "han"),
    ("轩", "xuan"),
    ("博", "bo"),
    ("然", "ran"),
    ("思", "si"),
    ("雨", "yu"),
    ("嘉", "jia"),
    ("俊", "jun"),
    ("志", "zhi"),
    ("海", "hai"),
    ("小", "xiao"),
    ("晓", "xiao"),
    ("国", "guo"),
    ("颖", "ying"),
    ("慧", "hui"),
    ("丹", "dan"),
    ("凯", "kai"),
    strict=True,
)
CN_TWO_CHAR_GIVEN_P = 0.75  # most given names have two characters
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "example.org", "mail.com")
CN_DOMAINS = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com")
# CN last: a draw with a zero share at the end of the list is the draw without it, so
# the default population is the one the demo always had.
COUNTRIES = ("US", "GB", "DE", "FR", "CN")
US, CN = COUNTRIES.index("US"), COUNTRIES.index("CN")
DEFAULT_COUNTRY_SHARES = {"US": 0.85, "GB": 0.07, "DE": 0.04, "FR": 0.04}
CURRENCIES = ("USD", "GBP", "EUR", "EUR", "CNY")
CITIES = {
    "US": ("New York", "San Francisco", "Chicago", "Boston", "Seattle", "Austin", "Miami"),
    "GB": ("London", "Manchester", "Leeds"),
    "DE": ("Berlin", "Hamburg", "Munich"),
    "FR": ("Paris", "Lyon", "Marseille"),
    # Listed five times: a Shanghai retailer's customers live mostly in Shanghai.
    "CN": (*("上海",) * 5, "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "西安"),
}
AREA_CODES = ("415", "212", "312", "617", "206", "303", "512", "305", "404", "702")
# Prefixes libphonenumber takes as CN mobile whatever 8 digits follow (154 is not one),
# as half-open ranges.
CN_MOBILE_PREFIX_RANGES = (
    (130, 140),
    (150, 154),
    (155, 160),
    (166, 167),
    (176, 179),
    (180, 190),
    (191, 192),
    (198, 200),
)
CN_MOBILE_PREFIXES = tuple(
    str(prefix) for first, stop in CN_MOBILE_PREFIX_RANGES for prefix in range(first, stop)
)
SOCIAL_PLATFORMS = ("wechat", "weibo", "instagram", "facebook", "x", "tiktok")
SOCIAL_P = (0.05, 0.03, 0.35, 0.25, 0.15, 0.17)
CN_SOCIAL_P = (0.6, 0.3, 0.02, 0.02, 0.01, 0.05)  # Chinese residents are on WeChat, Weibo
STORE_TZ = (2, 3, 3, 2)  # TS style index per store modulo: -05:00 or -08:00
EXPERIMENT_ID = "EXP-DOUBLE-POINTS"


def country_probabilities(shares: dict[str, float]) -> tuple[float, ...]:
    """Shares of the population by country code, as probabilities in COUNTRIES order."""
    unknown = set(shares) - set(COUNTRIES)
    if unknown:
        raise ValueError(f"unknown countries {sorted(unknown)}: known are {list(COUNTRIES)}")
    if any(not share > 0 for share in shares.values()):
        raise ValueError(f"country shares must be positive, got {shares}")
    if abs(sum(shares.values()) - 1) > 1e-9:
        raise ValueError(f"country shares must sum to 1, got {sum(shares.values())}")
    return tuple(shares.get(country, 0.0) for country in COUNTRIES)


@dataclass(frozen=True)
class Context:
    """Run-wide parameters shared by every chunk."""

    seed: int
    customers: int
    days: int
    end_date: date
    chunk_size: int
    country_p: tuple[float, ...]  # population shares in COUNTRIES order
    # Share of Gmail users who type their address in other forms Gmail delivers to them
    # (dots dropped, a +tag) on about half their orders and messages; 0 in the demo.
    gmail_alias_share: float = 0.0

    @property
    def home_country(self) -> int:
        """The country with the largest share (the first of a tie), whose phone numbers a
        source takes without a country code."""
        return int(np.argmax(self.country_p))

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    @property
    def start_epoch(self) -> int:
        return (self.start_date - date(1970, 1, 1)).days * 86400

    @property
    def n_stores(self) -> int:
        return int(np.clip(self.customers // 500, 5, 200))

    @property
    def experiment_day(self) -> int:
        return self.days // 4

    def day_name(self, day: int) -> str:
        return (self.start_date + timedelta(days=int(day))).isoformat()

    def season(self, t: np.ndarray) -> np.ndarray:
        """Seasonal multiplier at time `t` (days since window start)."""
        month0 = self.start_date.month - 1
        months = (month0 + np.floor((t + 0.5) / 30.44).astype(np.int64)) % 12
        return SEASON[months]

    def rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *stream])


@dataclass
class Persons:
    """One chunk of people: latent traits and canonical identifiers (numpy/arrow columns)."""

    gid: np.ndarray  # global person index
    habit: np.ndarray
    app_pref: np.ndarray
    acq: np.ndarray  # acquisition time, days since window start (negative: existing base)
    lam: np.ndarray
    p: np.ndarray
    alive: np.ndarray
    churn_t: np.ndarray
    has_crm: np.ndarray
    has_loyalty: np.ndarray
    in_experiment: np.ndarray
    treated: np.ndarray
    assign_t: np.ndarray
    country: np.ndarray
    spend_mean: np.ndarray
    satisfaction: np.ndarray
    home_store: np.ndarray
    consent: np.ndarray
    deleted_t: np.ndarray  # right-to-be-forgotten request time, nan if none
    email_change_t: np.ndarray  # inf if the email never changes
    crm_email_missing: np.ndarray  # CRM profile never got an email (signed up in store)
    first: pa.Array
    last: pa.Array
    customer_ref: pa.Array
    email: pa.Array
    email2: pa.Array
    phone: pa.Array  # national number (see phone_country), null when unknown
    loyalty_id: pa.Array
    device_id: pa.Array
    cookie_id: pa.Array
    cookie2: pa.Array
    social_platform: np.ndarray  # -1 when no social account
    handle: pa.Array
    card_hash: pa.Array
    card2: pa.Array
    owns_device: np.ndarray  # false for the family members who use another's tablet

    @property
    def n(self) -> int:
        return len(self.gid)

    @property
    def uses_web(self) -> np.ndarray:
        return ((self.habit == ONLINE_ONLY) & ~self.app_pref) | (self.habit == OMNI)

    @property
    def uses_app(self) -> np.ndarray:
        return ((self.habit == ONLINE_ONLY) & self.app_pref) | (self.habit == OMNI)

    @property
    def uses_store(self) -> np.ndarray:
        return self.habit != ONLINE_ONLY

    @property
    def phone_country(self) -> np.ndarray:
        """Country of the phone plan: a Chinese mobile (11 digits) for CN residents, a US
        number (10 digits) for everyone else, as the demo always had."""
        return np.where(self.country == CN, CN, US)

    @property
    def android(self) -> np.ndarray:
        """Platform of the person's app install (the rest use iOS)."""
        return (self.gid * 7 + 3) % 10 < 4

    def email_at(self, local: np.ndarray, t: np.ndarray) -> pa.Array:
        """The email a person used at time `t` (a few change address mid-window)."""
        changed = pa.array(t >= self.email_change_t[local])
        return pc.if_else(changed, self.email2.take(local), self.email.take(local))


def make_persons(ctx: Context, rng: np.random.Generator, g0: int, n: int) -> Persons:
    gid = np.arange(g0, g0 + n, dtype=np.int64)
    u = rng.random((13, n))
    habit = rng.choice(3, size=n, p=[0.35, 0.35, 0.30])
    app_pref = u[0] < 0.4
    existing = u[1] < EXISTING_SHARE
    acq = np.where(existing, -rng.uniform(0, HISTORY_DAYS, n), rng.uniform(0, ctx.days, n))
    lam = rng.gamma(GAMMA_R, 1.0 / GAMMA_ALPHA, n)
    p = rng.beta(BETA_A, BETA_B, n)
    crm_p = np.choose(habit, [0.7, 0.85, 0.95])
    has_crm = u[2] < crm_p
    has_loyalty = has_crm & (u[3] < np.choose(habit, [0.9, 0.4, 0.85]))
    in_exp = has_loyalty & (acq < ctx.experiment_day) & (u[4] < 0.5)
    treated = in_exp & (u[5] < 0.5)
    assign_t = np.where(in_exp, ctx.experiment_day + rng.uniform(0, 7, n), np.nan)
    country = rng.choice(len(COUNTRIES), size=n, p=ctx.country_p)
    # Chinese residents' traits come from their own stream: the main one draws as before.
    chinese = country == CN
    cn_traits = _chinese_traits(ctx.rng(g0 // ctx.chunk_size, 3), n)
    first_i = rng.integers(0, len(FIRST_NAMES), n)
    last_i = rng.integers(0, len(LAST_NAMES), n)
    first = pc.if_else(pa.array(chinese), cn_traits["given"], fmt.pick(FIRST_NAMES, first_i))
    last = pc.if_else(pa.array(chinese), cn_traits["surname"], fmt.pick(LAST_NAMES, last_i))
    # ASCII name parts of e-mails and handles: pinyin, family name first, for the Chinese.
    name1 = pc.if_else(pa.array(chinese), cn_traits["surname_pinyin"], first)
    name2 = pc.if_else(pa.array(chinese), cn_traits["given_pinyin"], last)
    num = fmt.text(gid)
    email = fmt.join(name1, ".", name2, num, "@", _domains(rng.integers(0, 6, n), chinese))
    email2 = fmt.join(name1, "_", name2, num, "@", _domains(rng.integers(0, 6, n), chinese))
    us_phone = fmt.join(
        fmt.pick(AREA_CODES, gid % len(AREA_CODES)),
        fmt.text(2_000_000 + (gid // len(AREA_CODES)) % 8_000_000),
    )
    # 8 subscriber digits: a bijection of the gid (48271 is coprime to 90_000_000), unique
    # per person yet not counting up like a placeholder.
    subscriber = (gid // len(CN_MOBILE_PREFIXES) * 48_271) % 90_000_000
    cn_phone = fmt.join(
        fmt.pick(CN_MOBILE_PREFIXES, gid % len(CN_MOBILE_PREFIXES)),
        fmt.text(10_000_000 + subscriber),
    )
    phone = fmt.nulls_where(pc.if_else(pa.array(chinese), cn_phone, us_phone), u[6] < 0.15)
    crm_ref = fmt.nulls_where(fmt.ids("C", gid, 8), ~has_crm)
    persons = Persons(
        gid=gid,
        habit=habit,
        app_pref=app_pref,
        acq=acq,
        lam=lam,
        p=p,
        alive=np.ones(n, dtype=bool),
        churn_t=np.full(n, np.nan),
        has_crm=has_crm,
        has_loyalty=has_loyalty,
        in_experiment=in_exp,
        treated=treated,
        assign_t=assign_t,
        country=country,
        spend_mean=rng.lognormal(np.log(55.0), 0.5, n),
        satisfaction=rng.normal(0, 1, n),
        home_store=rng.integers(0, ctx.n_stores, n),
        consent=has_crm & (u[7] < 0.7),
        deleted_t=np.where(has_crm & (u[8] < 0.004), rng.uniform(0, ctx.days, n), np.nan),
        email_change_t=np.where(has_crm & (u[9] < 0.03), rng.uniform(0, ctx.days, n), np.inf),
        crm_email_missing=has_crm & (u[12] < 0.03),
        first=first,
        last=last,
        customer_ref=crm_ref,
        email=email,
        email2=email2,
        phone=phone,
        loyalty_id=fmt.nulls_where(fmt.ids("L", gid, 9), ~has_loyalty),
        device_id=fmt.hex_ids(rng, n, 32),
        cookie_id=fmt.hex_ids(rng, n, 24, "ck_"),
        cookie2=fmt.nulls_where(fmt.hex_ids(rng, n, 24, "ck_"), u[10] >= 0.3),
        social_platform=np.where(
            u[11] < 0.15,
            np.where(chinese, cn_traits["social_platform"], rng.choice(6, size=n, p=SOCIAL_P)),
            -1,
        ),
        handle=fmt.join(name1, "_", name2, fmt.text(gid % 9973)),
        card_hash=fmt.hex_ids(rng, n, 40),
        card2=fmt.nulls_where(fmt.hex_ids(rng, n, 40), rng.random(n) >= 0.25),
        owns_device=np.ones(n, dtype=bool),
    )
    _share_family_devices(persons, rng)
    return persons


def _chinese_traits(rng: np.random.Generator, n: int) -> dict[str, pa.Array | np.ndarray]:
    """Names (in characters and in pinyin) and social platforms for `n` Chinese residents."""
    surname = rng.integers(0, len(CN_SURNAMES), n)
    given = rng.integers(0, len(CN_GIVEN), (2, n))
    two_chars = pa.array(rng.random(n) < CN_TWO_CHAR_GIVEN_P)

    def given_name(chars: tuple[str, ...]) -> pa.Array:
        second = pc.if_else(two_chars, fmt.pick(chars, given[1]), "")
        return fmt.join(fmt.pick(chars, given[0]), second)

    return {
        "surname": fmt.pick(CN_SURNAMES, surname),
        "surname_pinyin": fmt.pick(CN_SURNAMES_PINYIN, surname),
        "given": given_name(CN_GIVEN),
        "given_pinyin": given_name(CN_GIVEN_PINYIN),
        "social_platform": rng.choice(len(SOCIAL_PLATFORMS), size=n, p=CN_SOCIAL_P),
    }


def _domains(index: np.ndarray, chinese: np.ndarray) -> pa.Array:
    """E-mail domains: Chinese residents' from their own list (of the same length)."""
    return fmt.pick(DOMAINS + CN_DOMAINS, index + len(DOMAINS) * chinese)


def _share_family_devices(persons: Persons, rng: np.random.Generator) -> None:
    """Households sharing one tablet: app users in a few blocks of 4 neighbours get
    the device id of the block's first app user (2-4 people on one device). Only
    blocks with 2+ app users can share; every chunk that has one plants at least one."""
    app_users = np.flatnonzero(persons.uses_app)
    block = persons.gid[app_users] // 4
    blocks, sizes = np.unique(block, return_counts=True)
    eligible = blocks[sizes >= 2]
    shared = rng.random(len(eligible)) < 0.04
    shared[: min(1, len(eligible))] |= not shared.any()
    members = app_users[np.isin(block, eligible[shared])]
    if len(members) == 0:
        return
    mblock = persons.gid[members] // 4
    _, first_pos, inverse = np.unique(mblock, return_index=True, return_inverse=True)
    head = members[first_pos][inverse]
    take = np.arange(persons.n)
    take[members] = head
    persons.device_id = persons.device_id.take(pa.array(take))
    persons.owns_device[members] = members == head


@dataclass
class Purchases:
    """Every purchase in the window, sorted by time: one row per order/transaction."""

    local: np.ndarray  # person index within the chunk
    t: np.ndarray  # days since window start
    channel: np.ndarray  # WEB / APP / STORE
    gross: np.ndarray  # cents
    discount: np.ndarray  # cents
    items: np.ndarray

    @property
    def net(self) -> np.ndarray:
        return self.gross - self.discount


def simulate_purchases(ctx: Context, rng: np.random.Generator, persons: Persons) -> Purchases:
    """Run the BG/NBD-like process for the chunk; sets `alive` and `churn_t`."""
    n = persons.n
    peak = SEASON.max()
    t = persons.acq.copy()
    out_local, out_t = [np.arange(n)], [t.copy()]  # the acquisition is the first purchase
    dropped = rng.random(n) < persons.p
    persons.alive[dropped] = False
    persons.churn_t[dropped] = t[dropped]
    active = np.flatnonzero(~dropped)
    while len(active):
        boosted = persons.treated[active] & (t[active] >= persons.assign_t[active])
        rate = persons.lam[active] * np.where(boosted, TREATMENT_LIFT, 1.0) * peak
        t[active] += rng.exponential(1.0 / rate)
        active = active[t[active] < ctx.days]
        accepted = active[rng.random(len(active)) < ctx.season(t[active]) / peak]
        out_local.append(accepted)
        out_t.append(t[accepted].copy())
        drop = accepted[rng.random(len(accepted)) < persons.p[accepted]]
        persons.alive[drop] = False
        persons.churn_t[drop] = t[drop]
        active = np.setdiff1d(active, drop, assume_unique=True)
    local = np.concatenate(out_local)
    when = np.concatenate(out_t)
    keep = (when >= 0) & (when < ctx.days)
    local, when = local[keep], when[keep]
    order = np.lexsort((local, when))
    local, when = local[order], when[order]
    m = len(local)
    habit = persons.habit[local]
    omni_pick = rng.choice(3, size=m, p=[0.4, 0.3, 0.3])
    online = np.where(persons.app_pref[local], APP, WEB)
    channel = np.choose(habit, [np.full(m, STORE), online, omni_pick])
    gross = np.maximum(100, np.round(persons.spend_mean[local] * rng.gamma(4, 0.25, m) * 100))
    discounted = rng.random(m) < 0.2
    discount = np.where(discounted, np.round(gross * rng.uniform(0.05, 0.25, m)), 0)
    return Purchases(
        local=local,
        t=when,
        channel=channel,
        gross=gross.astype(np.int64),
        discount=discount.astype(np.int64),
        items=1 + rng.poisson(1.5, m),
    )
