"""The hostile console corpus: run in a process of its own (a stand-in for the dashboard server).

`python -m tests.console_corpus DB` runs every query through the sandbox and prints one JSON
line per query plus the process's own peak RSS (workers are other processes, not counted).
"""

from __future__ import annotations

import json
import resource
import sys

# (query, allowed kinds, a word the message must contain ("" for any))
R, F, T = "refused", "failed", "timeout"
BIG = "repeat('x', 100000000)"
CORPUS: list[tuple[str, tuple[str, ...], str]] = [
    # files and the network
    ("select * from read_csv('/etc/passwd')", (F,), "disabled"),
    ("select * from read_csv_auto('/etc/hostname')", (F,), "disabled"),
    ("select * from read_parquet('/tmp/x.parquet')", (F,), "disabled"),
    ("select * from read_json_auto('/etc/os-release')", (F,), "disabled"),
    ("select * from read_text('/proc/self/environ')", (F,), "disabled"),
    ("select * from read_blob('/proc/self/cmdline')", (F,), "disabled"),
    ("select * from glob('/root/*')", (F,), "disabled"),
    ("select * from glob('.tmp/*')", (F,), "disabled"),
    ("select * from read_csv('.tmp/x.csv')", (F,), "disabled"),
    ("select * from '/etc/passwd'", (F,), ""),
    ("select * from 'https://example.org/x.csv'", (F,), ""),
    ("select * from read_csv('https://example.org/x.csv')", (F,), "disabled"),
    ("select * from sniff_csv('/etc/passwd')", (F,), "disabled"),
    ("select * from parquet_metadata('/tmp/x.parquet')", (F,), "disabled"),
    ("select * from read_ndjson_objects('/etc/hostname')", (F,), "disabled"),
    ("copy bars to '.tmp/stolen.csv'", (R,), "COPY"),
    ("copy (select 1) to '/tmp/x/y.csv'", (R,), "COPY"),
    ("attach '/tmp/x/evil.duckdb' as evil", (R,), "ATTACH"),
    ("attach ':memory:' as m", (R,), "ATTACH"),
    ("detach tw", (R,), "DETACH"),
    ("install httpfs", (R,), ""),
    ("load httpfs", (R,), ""),
    ("force install httpfs", (R,), ""),
    ("export database '/tmp/x/dump'", (R,), "EXPORT"),
    ("import database '/tmp/x/dump'", (R,), ""),
    # settings and pragmas
    ("set enable_external_access = true", (R,), "SET"),
    ("set temp_directory = '/tmp/x'", (R,), "SET"),
    ("set memory_limit = '64GB'", (R,), "SET"),
    ("reset lock_configuration", (R,), ""),
    ("pragma enable_profiling", (R,), "PRAGMA"),
    ("pragma database_list", (R,), ""),
    ("call pragma_version()", (R,), ""),
    ("call duckdb_settings()", (R,), ""),
    ("select * from duckdb_settings()", (R,), "duckdb_settings"),
    ("select value from duckdb_settings() where name = 'temp_directory'", (R,), "duckdb_settings"),
    ("select current_setting('secret_directory')", (R,), "current_setting"),
    ("select current_setting('home_directory')", (R,), "current_setting"),
    ("select current_setting('temp_directory')", (R,), "current_setting"),
    ("select current_setting('extension_directory')", (R,), "current_setting"),
    ("select * from duckdb_databases()", (R,), "duckdb_databases"),
    ("select path from duckdb_databases()", (R,), "duckdb_databases"),
    ("select * from (select * from duckdb_databases()) d", (R,), "duckdb_databases"),
    ("with s as (select * from duckdb_settings()) select * from s", (R,), "duckdb_settings"),
    ("select (select max(value) from duckdb_settings()) as v", (R,), "duckdb_settings"),
    ("select * from pragma_database_list()", (R,), "pragma_database_list"),
    ("select * from pragma_database_size()", (R,), "pragma_database_size"),
    ("select * from pragma_storage_info('bars')", (R,), "pragma_storage_info"),
    ("select * from pragma_metadata_info()", (R,), "pragma_metadata_info"),
    ("select * from duckdb_extensions()", (R,), "duckdb_extensions"),
    ("select * from duckdb_secrets()", (R,), "duckdb_secrets"),
    ("select * from which_secret('s3://b/k', 's3')", (R,), "which_secret"),
    ("select * from duckdb_temporary_files()", (R,), "duckdb_temporary_files"),
    ("select * from duckdb_memory()", (R,), "duckdb_memory"),
    ("select getenv('HOME')", (R,), "getenv"),
    ("select * from checkpoint()", (R,), "checkpoint"),
    ("select * from force_checkpoint()", (R,), "force_checkpoint"),
    ("select upper(current_setting('threads'))", (R,), "current_setting"),
    # EXPLAIN ANALYZE runs its statement: the inner one is checked
    ("explain analyze create table pwned as select 1", (R,), "CREATE"),
    ("explain analyze checkpoint", (R,), ""),
    ("explain analyze vacuum", (R,), ""),
    ("explain analyze copy (select 1) to '.tmp/x.csv'", (R,), "COPY"),
    ("explain analyze insert into meta values ('k', 'v')", (R,), "INSERT"),
    ("explain analyze attach '/tmp/x/e.duckdb'", (R,), ""),
    ("explain analyze set threads = 8", (R,), ""),
    ("explain analyze delete from bars", (R,), "DELETE"),
    ("explain analyse drop table bars", (R,), "DROP"),
    ("explain (format json) update bars set close = 0", (R,), "UPDATE"),
    ("EXPLAIN   ANALYZE\n  create macro m(x) as x", (R,), "CREATE"),
    ("explain analyze select * from duckdb_settings()", (R,), "duckdb_settings"),
    ("explain select current_setting('home_directory')", (R,), "current_setting"),
    ("explain analyze select 1; drop table bars", (R,), "one statement"),
    # writes and other statements
    ("create table pwned (x int)", (R,), "CREATE"),
    ("create temp table t as select 1", (R,), "CREATE"),
    ("insert into meta values ('k', 'v')", (R,), "INSERT"),
    ("update bars set close = 0", (R,), "UPDATE"),
    ("delete from bars", (R,), "DELETE"),
    ("drop view if exists latest_quotes", (R,), "DROP"),
    ("alter table bars add column x int", (R,), ""),
    ("checkpoint", (R,), ""),
    ("vacuum", (R,), ""),
    ("begin transaction", (R,), ""),
    ("use memory", (R,), ""),
    ("select 1; select 2", (R,), "one statement"),
    ("", (R,), "empty"),
    ("selec 1", (R,), "parse"),
    # big results and memory
    (f"select {BIG} from range(12)", (F, T, "ok"), ""),  # ok only with every cell cut
    (f"select {BIG} as a, {BIG} as b", (F, T, "ok"), ""),
    ("select md5(repeat('abcdefgh', 200000000))", (F, T), ""),
    ("select string_agg(i::varchar, ',') from range(200000000) t(i)", (F, T), ""),
    ("select list(i) from range(500000000) t(i)", (F, T), ""),
    # the memory cap stops it in ~0.3 s on a quiet machine, the 1 s timer can win under load;
    # test_dashboard_sandbox.py pins the memory message with a long timer
    ("select count(*) from range(100000000) a, range(100000000) b", (F, T), ""),
    ("select repeat('y', 1000000) from range(20000)", (F, T, "ok"), ""),
    ("select * from range(100000000)", ("ok", T), ""),  # ok unless the machine is starved
    # long-running functions
    ("select sum(hash(i)) from range(10000000000) t(i)", (T,), "timeout"),
    ("with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r", (T, F), ""),
    ("select count(*) from bars a, bars b, bars c", (T,), "timeout"),
    ("select regexp_matches(repeat('a', 30000000), '(a+)+b')", (T, F, "ok"), ""),
]  # fmt: skip


def main(db: str) -> None:
    """Run the corpus against `db`; print one JSON line per query and the peak RSS in MB."""
    from dashboard.sandbox import run_sandboxed

    for sql, _, _ in CORPUS:
        result = run_sandboxed(db, sql, timeout_s=1.0, row_cap=1000)
        size = result.frame.estimated_size() if result.frame.width else 0
        print(
            json.dumps(
                {"sql": sql, "kind": result.kind, "error": result.error, "bytes": size,
                 "rows": result.frame.height, "elapsed": result.elapsed_s}
            ),
            flush=True,
        )  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak_mb}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
