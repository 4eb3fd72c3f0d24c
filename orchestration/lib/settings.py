"""Settings from environment variables, with the defaults the README documents: one typed
object, read once where a run is created (the CLI, the code location) and handed to the
assets as a Dagster resource, never read from the environment inside a step.

Paths are resolved to absolute ones so that dbt (run from `dbt_project/`) and
Dagster (run from anywhere) agree on the same files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import phonenumbers

from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.identity_stats import OverMergeLimits
from orchestration.lib.ingest_sql import lit
from orchestration.lib.reconciliation import ReconciliationLimits

REPO_ROOT = Path(__file__).resolve().parents[2]
DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_LANDING_DIR = "data/landing"

# When a quarantined file holds back the transform and publish (per source).
QUARANTINE_RULES = {
    "tonight": "a quarantined file of the as-of date's delivery blocks",
    "any": "a quarantined file of any delivery blocks",
    "never": "quarantined files only warn",
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


# The environment variables the settings are read from (names, or prefixes ending in _).
SETTING_VARS = (
    "LANDING_DIR",
    "WAREHOUSE_DIR",
    "WAREHOUSE_ENGINE",
    "PUBLISH_DIR",
    "GROUND_TRUTH_DIR",
    "HELD_DIR",
    "DAGSTER_HOME",
    "AS_OF_DATE",
    "PARTITIONS_START_DATE",
    "REPORTING_TZ",
    "CLV_MODEL",
    "CLV_ANNUAL_DISCOUNT_RATE",
    "CHURN_HORIZON_DAYS",
    "CHURN_REFIT_DAYS",
    "CHURN_MAX_TRAINING_ROWS",
    "INCREMENTAL_LOOKBACK_HOURS",
    "DQ_CHUNK_ROWS",
    "INGEST_",
    "DUCKDB_",
    "SPARK_",
    "QUARANTINE_",
    "IDENTITY_",
    "RECON_",
    "PHONE_",
    "EMAIL_PROVIDER_RULES",
    "K_ANONYMITY",
    "ALERT_COMMAND",
)


def settings_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of an environment that holds settings (what `load_settings` reads)."""
    environ = os.environ if environ is None else environ
    return {
        name: value
        for name, value in sorted(environ.items())
        if any(name == v or (v.endswith("_") and name.startswith(v)) for v in SETTING_VARS)
    }


def _path(env: Mapping[str, str], var: str, default: str) -> Path:
    value = env.get(var) or default
    path = Path(value)
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()


def delivery_dates_in(root: Path) -> list[date]:
    """The dates of the delivery folders (`<source>/<YYYY-MM-DD>/`) under root, sorted."""
    if not root.is_dir():
        return []
    found = {
        date.fromisoformat(day.name)
        for source_dir in root.iterdir()
        if source_dir.is_dir()
        for day in source_dir.iterdir()
        if day.is_dir() and DATE_DIR.match(day.name)
    }
    return sorted(found)


@dataclass(frozen=True)
class IngestLimits:
    """What one landing file may cost ingestion. A file over `max_file_bytes` (as stored,
    and again once decompressed) is quarantined without being held in memory; a line or
    record over `max_line_bytes` is rejected, keeping only a prefix. Ingestion holds at
    most about `max_file_bytes` plus a 256 MiB batch of lines in memory at a time. A
    failed ingestion step (e.g. the warehouse file locked by another process) is tried
    twice more, `retry_delay_s` seconds apart."""

    max_file_bytes: int = 2**30
    max_line_bytes: int = 16 * 2**20
    retry_delay_s: int = 5


# Set per connection: a time zone needs the ICU extension, not loaded when a database opens.
SESSION_TIME_ZONE = "UTC"


@dataclass(frozen=True)
class DuckDBLimits:
    """Applied to every DuckDB database the pipeline opens, dbt's included (profiles.yml
    reads them from WAREHOUSE_DUCKDB_CONFIG, the time zone from WAREHOUSE_DUCKDB_SETTINGS).
    Beyond `memory_limit` DuckDB spills to `temp_directory`; reports are in UTC whatever
    the host's time zone.

    The limits are given when the database is opened, not SET on each connection:
    once a database has spilled, DuckDB refuses any SET of `temp_directory`, even to
    the same value, and dbt-duckdb opens a connection per model on one database."""

    memory_limit: str
    threads: int
    temp_directory: Path

    def config(self) -> dict[str, str]:
        return {
            "memory_limit": self.memory_limit,
            "threads": str(self.threads),
            "temp_directory": str(self.temp_directory),
        }

    def connect(self, path: Path | str, read_only: bool = False, config: dict | None = None):
        """A connection to the database at path, opened with the limits (and config)."""
        limits = {**self.config(), **(config or {})}
        con = duckdb.connect(str(path), read_only=read_only, config=limits)
        con.execute(f"set TimeZone = {lit(SESSION_TIME_ZONE)}")
        return con

    def env(self) -> dict[str, str]:
        """What profiles.yml reads (as Python literals: `as_native`)."""
        return {
            "WAREHOUSE_DUCKDB_CONFIG": json.dumps(self.config()),
            "WAREHOUSE_DUCKDB_SETTINGS": json.dumps({"TimeZone": SESSION_TIME_ZONE}),
        }


# The engines dbt builds the warehouse on: each is a target of dbt_project/profiles.yml.
ENGINES = ("duckdb", "spark")


def dbt_target_path(engine: str) -> Path:
    """Where dbt parses and builds for `engine`, relative to the dbt project: each engine
    its own, so that runs on both in one checkout never read the other's manifest (its
    configs differ by engine). DuckDB, the default, keeps dbt's `target/`, the only
    place MetricFlow's `mf` reads the semantic manifest from."""
    return Path("target") if engine == ENGINES[0] else Path("target") / engine


@dataclass(frozen=True)
class SparkLimits:
    """The local SparkSession of the `spark` target (profiles.yml): cores it runs on,
    the driver's memory, the partitions of a shuffle (a few per core for data of one
    machine; a cluster wants more) and the driver JVM's options (none by default).
    `-XX:TieredStopAtLevel=1 -XX:+UseSerialGC` took a quarter less CPU on dbt's short
    queries on 2 cores, but one run with it failed inside the JVM (docs/benchmarks.md)."""

    cores: int = 2
    driver_memory: str = "4g"
    shuffle_partitions: int = 4
    java_options: str = ""

    def env(self) -> dict[str, str]:
        """What profiles.yml reads."""
        return {
            "SPARK_CORES": str(self.cores),
            "SPARK_DRIVER_MEMORY": self.driver_memory,
            "SPARK_SHUFFLE_PARTITIONS": str(self.shuffle_partitions),
            "SPARK_DRIVER_JAVA_OPTIONS": self.java_options,
        }


@dataclass(frozen=True)
class PhoneRegions:
    """The ISO-3166 region whose numbering plan a source's phones are read in when they
    are written without a country code (PHONE_REGION, and PHONE_REGION_BY_SOURCE for a
    source whose system knows its country: `pos_transactions=CN,web_orders=US`)."""

    default: str = "US"
    by_source: Mapping[str, str] = field(default_factory=dict)

    def for_source(self, source: str) -> str:
        return self.by_source.get(source, self.default)

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> PhoneRegions:
        default = _region(env.get("PHONE_REGION") or cls.default, "PHONE_REGION")
        by_source = {}
        for item in (env.get("PHONE_REGION_BY_SOURCE") or "").split(","):
            if not item.strip():
                continue
            name, sep, region = (x.strip() for x in item.partition("="))
            if not sep or name not in SOURCES_BY_NAME:
                raise ValueError(
                    f"PHONE_REGION_BY_SOURCE: {item.strip()!r} is not <source>=<region> with "
                    "a contract source"
                )
            by_source[name] = _region(region, f"PHONE_REGION_BY_SOURCE ({name})")
        return cls(default, by_source)


def _region(value: str, setting: str) -> str:
    """`value` upper-cased if libphonenumber knows its numbering plan, else ValueError."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"{setting}={value!r} is not an ISO-3166 region with a numbering plan (e.g. US, CN, GB)"
        )
    return region


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    publish_dir: Path
    ground_truth_dir: Path
    dagster_home: Path
    as_of_date_override: date | None
    reporting_tz: str
    duckdb: DuckDBLimits
    # Generated delivery days not delivered yet (`make deliver` moves the next one in).
    held_dir: Path
    # The first day of the delivery-date partitions (else the first delivery found).
    partitions_start_date: date | None = None
    # False when LANDING_DIR is not set: only then may `cli run` fill it with demo data.
    landing_dir_chosen: bool = True
    clv_model: str = "bgnbd"
    clv_annual_discount_rate: float = 0.10
    churn_horizon_days: int = 90
    # The churn model is trained as of the last model date (every this many days) and
    # reused until the next one, unless its training rows change.
    churn_refit_days: int = 7
    # The churn model fits on at most this many rows (a hash of customer and snapshot
    # draws them): its time and memory stop growing with the customer base.
    churn_max_training_rows: int = 400_000
    # Incremental dbt models read again the rows stamped this long before the newest
    # they hold: a clock set back between runs loses nothing (dbt var
    # incremental_lookback_hours).
    incremental_lookback_hours: int = 2
    # Rows of a table the quality suites hand Great Expectations at a time (the memory
    # they take grows with it, not with the table).
    dq_chunk_rows: int = 2_000_000
    ingest: IngestLimits = field(default_factory=IngestLimits)
    quarantine_rule: str = "tonight"
    quarantine_rule_by_source: dict[str, str] = field(default_factory=dict)
    identity: OverMergeLimits = field(default_factory=OverMergeLimits)
    reconciliation: ReconciliationLimits = field(default_factory=ReconciliationLimits)
    phone_regions: PhoneRegions = field(default_factory=PhoneRegions)
    # Merge the e-mail forms a provider documents as one mailbox (Gmail dots and +tags...;
    # dbt var email_provider_rules). Off by default: it changes which addresses are one.
    email_provider_rules: bool = False
    # Every combination of a published mart's quasi-identifiers describes at least this
    # many customers: the models generalise to it (dbt var k_anonymity) and the publish
    # gate refuses a file where it fails.
    k_anonymity: int = 10
    # A command handed each failure alert on stdin (ALERT_COMMAND), or None.
    alert_command: str | None = None
    # What dbt builds on (WAREHOUSE_ENGINE, one of ENGINES; orchestration/lib/engines.py).
    engine: str = "duckdb"
    spark: SparkLimits = field(default_factory=SparkLimits)

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def parquet_dir(self) -> Path:
        """The Parquet copies of the tables Python writes, for dbt on Spark
        (orchestration/lib/parquet_mirror.py; the dbt macro parquet_dir())."""
        return self.warehouse_dir / "parquet"

    @property
    def publish_path(self) -> Path:
        return self.publish_dir / "marts.duckdb"

    def quarantine_rule_for(self, source: str) -> str:
        return self.quarantine_rule_by_source.get(source, self.quarantine_rule)

    def delivery_dates(self) -> list[date]:
        """Every delivery date present in the landing directory, sorted."""
        return delivery_dates_in(self.landing_dir)

    def landing_problem(self) -> str | None:
        """Why the landing directory cannot be loaded (missing, or no delivery folder in
        it), or None. A run must not start on such a directory: an unmounted share or a
        typo in LANDING_DIR would otherwise publish an empty or an old warehouse."""
        if not self.landing_dir.is_dir():
            return f"the landing directory {self.landing_dir} does not exist (LANDING_DIR)"
        if not self.delivery_dates():
            return (
                f"the landing directory {self.landing_dir} holds no delivery folder "
                "(<source>/<YYYY-MM-DD>/)"
            )
        return None

    def as_of_date_for_new_run(self) -> date:
        """AS_OF_DATE, or the latest delivery date found in the landing directory. Only what
        creates a run (the CLI, the sensor) calls this; the run then carries the date."""
        if self.as_of_date_override:
            return self.as_of_date_override
        dates = self.delivery_dates()
        if not dates:
            raise ValueError(
                f"AS_OF_DATE is not set and {self.landing_dir} holds no delivery folders "
                "(<source>/<YYYY-MM-DD>/): nothing to take the as-of date from"
            )
        return dates[-1]

    def dbt_env(self) -> dict[str, str]:
        """What profiles.yml and the macros read: where the warehouse and its Parquet copies
        are, and the DuckDB and Spark limits; and to dbt and dagster-dbt, the engine's
        target directory. The run's dates reach dbt as --vars only."""
        return {
            "DBT_TARGET_PATH": str(dbt_target_path(self.engine)),
            "WAREHOUSE_DIR": str(self.warehouse_dir),
            "PARQUET_DIR": str(self.parquet_dir),
            **self.duckdb.env(),
            **self.spark.env(),
        }


def data_root_env(root: Path) -> dict[str, str]:
    """Environment that puts every directory of a run under one root (benchmarks, tests)."""
    return {
        "LANDING_DIR": str(root / "landing"),
        "GROUND_TRUTH_DIR": str(root / "ground_truth"),
        "HELD_DIR": str(root / "held"),
        "WAREHOUSE_DIR": str(root / "warehouse"),
        "PUBLISH_DIR": str(root / "publish"),
        "DAGSTER_HOME": str(root / "dagster"),
    }


CLV_MODELS = ("bgnbd", "pareto_nbd")


def _number(env: Mapping[str, str], var: str, default: str, kind: type, low: float, high: float):
    value = env.get(var) or default
    try:
        number = kind(value)
    except ValueError as exc:
        what = "whole number" if kind is int else "number"
        raise ValueError(f"{var}={value!r} is not a {what}") from exc
    if not low <= number <= high:
        raise ValueError(f"{var}={value!r} is outside {low}..{high}")
    return number


def parse_bytes(var: str, value: str) -> int:
    """`1073741824`, `1GiB`, `512 MB`, `64KiB`: a size in bytes."""
    match = _SIZE.match(value)
    size = int(float(match[1]) * _UNITS[(match[2] or "").lower()]) if match else 0
    if size < 1:
        raise ValueError(f"{var}={value!r} is not a size such as 1GiB, 512MiB or 1000000")
    return size


def _bytes(env: Mapping[str, str], var: str, default: int) -> int:
    value = env.get(var)
    return parse_bytes(var, value) if value else default


def _memory_limit(env: Mapping[str, str]) -> str:
    """DUCKDB_MEMORY_LIMIT as DuckDB takes it: a share of RAM (`50%`) or a size (`8GiB`)."""
    value = env.get("DUCKDB_MEMORY_LIMIT") or "50%"
    share = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
    if share and 0 < float(share[1]) < 100:
        return f"{share[1]}%"
    if share:
        raise ValueError(f"DUCKDB_MEMORY_LIMIT={value!r}: a share of RAM is between 0 and 100 %")
    return f"{parse_bytes('DUCKDB_MEMORY_LIMIT', value)}B"


def _engine(env: Mapping[str, str]) -> str:
    engine = (env.get("WAREHOUSE_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"WAREHOUSE_ENGINE={engine!r} is not one of {', '.join(ENGINES)}")
    return engine


def _spark_memory(env: Mapping[str, str]) -> str:
    """SPARK_DRIVER_MEMORY as the JVM takes it: a number and a unit (`4g`, `512m`)."""
    value = (env.get("SPARK_DRIVER_MEMORY") or SparkLimits.driver_memory).strip().lower()
    if not re.fullmatch(r"[1-9]\d*[kmgt]", value):
        raise ValueError(f"SPARK_DRIVER_MEMORY={value!r} is not a size such as 4g or 512m")
    return value


def _quarantine_rules(env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    default = env.get("QUARANTINE_BLOCKS") or "tonight"
    if default not in QUARANTINE_RULES:
        raise ValueError(
            f"QUARANTINE_BLOCKS={default!r} is not one of {', '.join(QUARANTINE_RULES)}"
        )
    by_source = {}
    for item in (env.get("QUARANTINE_BLOCKS_BY_SOURCE") or "").split(","):
        if not item.strip():
            continue
        name, sep, rule = (x.strip() for x in item.partition("="))
        if not sep or name not in SOURCES_BY_NAME or rule not in QUARANTINE_RULES:
            raise ValueError(
                f"QUARANTINE_BLOCKS_BY_SOURCE: {item.strip()!r} is not <source>=<rule> with a "
                f"contract source and a rule of {', '.join(QUARANTINE_RULES)}"
            )
        by_source[name] = rule
    return default, by_source


def _on_off(env: Mapping[str, str], var: str) -> bool:
    value = (env.get(var) or "off").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{var}={env.get(var)!r} is not on or off")
    return value == "on"


def _date(env: Mapping[str, str], var: str) -> date | None:
    value = env.get(var)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise ValueError(f"{var}={value!r} is not a YYYY-MM-DD date") from exc


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from `environ` (default: this process's environment)."""
    env = settings_environ(environ)
    clv_model = env.get("CLV_MODEL") or "bgnbd"
    if clv_model not in CLV_MODELS:
        raise ValueError(f"CLV_MODEL={clv_model!r} is not one of {', '.join(CLV_MODELS)}")
    warehouse_dir = _path(env, "WAREHOUSE_DIR", "data/warehouse")
    quarantine_rule, quarantine_rule_by_source = _quarantine_rules(env)
    return Settings(
        landing_dir=_path(env, "LANDING_DIR", DEFAULT_LANDING_DIR),
        landing_dir_chosen=bool(env.get("LANDING_DIR")),
        warehouse_dir=warehouse_dir,
        publish_dir=_path(env, "PUBLISH_DIR", "data/publish"),
        ground_truth_dir=_path(env, "GROUND_TRUTH_DIR", "data/ground_truth"),
        held_dir=_path(env, "HELD_DIR", "data/held"),
        dagster_home=_path(env, "DAGSTER_HOME", "data/dagster"),
        as_of_date_override=_date(env, "AS_OF_DATE"),
        partitions_start_date=_date(env, "PARTITIONS_START_DATE"),
        reporting_tz=env.get("REPORTING_TZ") or "UTC",
        clv_model=clv_model,
        clv_annual_discount_rate=_number(env, "CLV_ANNUAL_DISCOUNT_RATE", "0.10", float, 0, 1),
        churn_horizon_days=_number(env, "CHURN_HORIZON_DAYS", "90", int, 7, 365),
        churn_refit_days=_number(env, "CHURN_REFIT_DAYS", "7", int, 1, 90),
        churn_max_training_rows=_number(
            env,
            "CHURN_MAX_TRAINING_ROWS",
            str(Settings.churn_max_training_rows),
            int,
            1_000,
            1_000_000_000,
        ),
        incremental_lookback_hours=_number(
            env,
            "INCREMENTAL_LOOKBACK_HOURS",
            str(Settings.incremental_lookback_hours),
            int,
            0,
            24 * 30,
        ),
        dq_chunk_rows=_number(
            env, "DQ_CHUNK_ROWS", str(Settings.dq_chunk_rows), int, 1_000, 1_000_000_000
        ),
        ingest=IngestLimits(
            max_file_bytes=_bytes(env, "INGEST_MAX_FILE_BYTES", IngestLimits.max_file_bytes),
            max_line_bytes=_bytes(env, "INGEST_MAX_LINE_BYTES", IngestLimits.max_line_bytes),
            retry_delay_s=_number(
                env, "INGEST_RETRY_DELAY_S", str(IngestLimits.retry_delay_s), int, 0, 3600
            ),
        ),
        duckdb=DuckDBLimits(
            memory_limit=_memory_limit(env),
            threads=_number(env, "DUCKDB_THREADS", str(os.cpu_count() or 1), int, 1, 1024),
            temp_directory=_path(env, "DUCKDB_TEMP_DIRECTORY", str(warehouse_dir / "duckdb_tmp")),
        ),
        quarantine_rule=quarantine_rule,
        quarantine_rule_by_source=quarantine_rule_by_source,
        identity=OverMergeLimits.from_environ(env),
        reconciliation=ReconciliationLimits.from_environ(env),
        phone_regions=PhoneRegions.from_environ(env),
        email_provider_rules=_on_off(env, "EMAIL_PROVIDER_RULES"),
        k_anonymity=_number(env, "K_ANONYMITY", str(Settings.k_anonymity), int, 2, 1_000_000),
        alert_command=env.get("ALERT_COMMAND") or None,
        engine=_engine(env),
        spark=SparkLimits(
            cores=_number(env, "SPARK_CORES", str(SparkLimits.cores), int, 1, 1024),
            driver_memory=_spark_memory(env),
            shuffle_partitions=_number(
                env,
                "SPARK_SHUFFLE_PARTITIONS",
                str(SparkLimits.shuffle_partitions),
                int,
                1,
                100_000,
            ),
            java_options=env.get("SPARK_DRIVER_JAVA_OPTIONS", SparkLimits.java_options).strip(),
        ),
    )
