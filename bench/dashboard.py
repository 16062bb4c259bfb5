"""dashboard: the compliance dashboard's rows (``reports.dashboard.requirement_rows``) and its five trend
charts (``reports.dashboard_charts.trend_charts``) on a year of an operator's data.

A database of its own (``bench_dashboard``) is seeded by SQL (``generate_series``) with a year of users,
verifications, credit accounts, agreement acceptances, groups (one in twenty large enough for an info page),
memberships, messages, cases and complaints, sanctions with their regulator reports, screening evidence,
lexicon terms, audit events and network logs (sealed by a digest, the chain verified), at the default
scale in a few minutes. Users join evenly over the year and are verified an hour later; a message's sender
is someone who joined a few hours before it at least. Then:

- cold: the cache cleared, the page's two cached calls (rows and charts) computed; p50 and p95 over runs;
- warm: the same calls served from the cache (Redis);
- each row's own time (one cold pass per run), to show where the time goes;
- one untimed pass first (a server process pays its imports once, not per page);
- baseline in the same run: as many bare ``SELECT 1`` round trips as the dashboard makes queries (the
  floor of any implementation with that query count).

Target: cold p95 well under 1 s. ``--quick``: a tenth of the data.
"""

from __future__ import annotations

import argparse
import os
import time

SIZES = {  # a year of a mid-sized operator
    "users": 30_000,
    "groups": 3_000,
    "messages": 3_000_000,
    "cases": 30_000,
    "sanctions": 8_000,
    "evidence": 150_000,
    "audit_events": 500_000,
    "network_logs": 5_000_000,
    "lexicon_terms": 2_000,
}
KINDS = (
    "group_warning",
    "group_posting",
    "group_closure",
    "user_credit",
    "user_level",
    "user_manage",
    "user_create",
    "user_mute",
    "user_suspend",
    "blacklist",
)
EVENTS = (
    "identity.login",
    "identity.login",
    "identity.login",
    "groups.member_muted",
    "groups.join_request_approved",
    "groups.message_pinned",
    "identity.pi_revealed",
    "moderation.sanction_issued",
)


def _seed(sizes: dict) -> dict:
    """Everything by SQL, times spread evenly over the last 365 days (ascending with the id, as written)."""
    from django.db import connection

    from common.reasons import Reason

    n = sizes
    timings = {}
    reasons = "ARRAY[" + ", ".join(f"'{code}'" for code in Reason.values) + "]"
    kinds = "ARRAY[" + ", ".join(f"'{kind}'" for kind in KINDS) + "]"
    events = "ARRAY[" + ", ".join(f"'{event}'" for event in EVENTS) + "]"

    def spread(count_key: str) -> str:  # row g of N: its moment in the year, the newest a minute ago
        return f"now() - interval '1 minute' - ({n[count_key]} - g) * (interval '365 days' / {n[count_key]})"

    steps = [
        (
            "users",
            f"""INSERT INTO identity_user (password, is_superuser, username, first_name, last_name, email,
                    is_staff, is_active, date_joined, nickname)
                SELECT '!', false, 'dash' || g, '', '', '', g = 1, true, {spread("users")}, '用户' || g
                FROM generate_series(1, {n["users"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "verifications",
            """INSERT INTO identity_identityverification (status, real_name_enc, id_number_enc,
                    real_name_masked, id_number_masked, id_hash, result_only, under_14, backend,
                    decision_note,
                    user_id, submitted_at, decided_at)
                SELECT CASE WHEN u.id % 50 = 0 THEN 'pending' WHEN u.id % 37 = 0 THEN 'rejected'
                            ELSE 'verified' END,
                       '', '', '张*', '1101**********1234', md5('id' || u.id), false, false, 'fake', '', u.id,
                       u.date_joined,
                       CASE WHEN u.id % 50 = 0 THEN NULL ELSE u.date_joined + interval '1 hour' END
                FROM identity_user u""",
        ),
        (
            "credit accounts",
            """INSERT INTO credit_creditaccount (score, updated_at, user_id)
                SELECT (u.id * 31) % 160, now(), u.id FROM identity_user u""",
        ),
        (
            "agreement acceptances",
            """INSERT INTO identity_agreementacceptance (accepted_at, user_id, document_id)
                SELECT u.date_joined, u.id, d.id FROM identity_user u
                JOIN identity_agreementdocument d ON d.kind IN ('service-agreement', 'convention')
                WHERE u.id % 200 <> 0""",
        ),
        (
            "groups",
            f"""INSERT INTO groups_chatgroup (code, name, description, created_at, invite_token, last_seq,
                    created_by_id, member_cap, creator_qualifications, join_mode, review_note, status,
                    announcement, announcement_only, rules_text, slow_mode_seconds, activity_level,
                    activity_messages_7d, category_id)
                SELECT upper(substr(md5('g' || g), 1, 8)), '群' || g, '', {spread("groups")},
                       md5('t' || g), 0,
                       (SELECT min(id) FROM identity_user) + (g * 7919) % {n["users"]},
                       CASE WHEN g % 10 = 0 THEN 400 ELSE 0 END, '{{}}', 'link', '',
                       CASE WHEN g % 40 = 0 THEN 'closed' WHEN g % 97 = 0 THEN 'dissolved' ELSE 'active' END,
                       '', false, '', 0, (ARRAY['quiet', 'normal', 'active'])[1 + g % 3], 0,
                       c.id
                FROM generate_series(1, {n["groups"]}) g
                JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM groups_groupcategory) c
                  ON c.i = g % (SELECT count(*) FROM groups_groupcategory)""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "memberships",
            f"""INSERT INTO groups_membership (role, joined_at, group_id, user_id, mute_reason, last_read_seq,
                    rules_accepted_at, left_at)
                SELECT CASE WHEN k = 0 THEN 'owner' ELSE 'member' END, grp.created_at, grp.id,
                       (SELECT min(id) FROM identity_user)
                         + (grp.created_by_id - (SELECT min(id) FROM identity_user) + k) % {n["users"]},
                       '', 0, grp.created_at, CASE WHEN k % 15 = 14 THEN now() END
                FROM groups_chatgroup grp,
                     generate_series(0, CASE WHEN grp.id % 20 = 0 THEN 110 + (grp.id * 7) % 250
                                             ELSE 3 + (grp.id * 11) % 60 END) k""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "messages",
            f"""INSERT INTO groups_message (group_id, seq, sender_id, client_msg_id, body, created_at, status,
                    removal_reason, mentions, search_text)
                SELECT (SELECT min(id) FROM groups_chatgroup) + g % {n["groups"]}, NULL,
                       (SELECT min(id) FROM identity_user)
                         + (g * 7) % greatest(1, g::bigint * {n["users"]} / {n["messages"]} - 10),
                       'd' || g, '消息 ' || g, {spread("messages")}, 'visible', '', '[]'::jsonb, ''
                FROM generate_series(1, {n["messages"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "cases",
            f"""INSERT INTO moderation_case (kind, target_key, category, category_kind, priority,
                    complaint_count, status, outcome, created_at, updated_at, deadline, group_id, resolution,
                    decided_at)
                SELECT 'group', 'group:bench:' || g, 'CONDUCT_FRAUD_SPAM', 'conduct', 2000, 1,
                       CASE WHEN g > {n["cases"]} - 40 THEN 'open' ELSE 'closed' END, '', t, t,
                       t + interval '24 hours',
                       (SELECT min(id) FROM groups_chatgroup) + g % {n["groups"]}, '',
                       CASE WHEN g > {n["cases"]} - 40 THEN NULL ELSE t + (g % 30) * interval '1 hour' END
                FROM (SELECT g, {spread("cases")} AS t FROM generate_series(1, {n["cases"]}) g) s""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "complaints",
            """INSERT INTO moderation_complaint (category, description, evidence, created_at, case_id)
                SELECT 'CONDUCT_FRAUD_SPAM', '', '{}', c.created_at + k * interval '1 minute', c.id
                FROM moderation_case c, generate_series(0, c.id % 3) k""",
        ),
        (
            "sanctions",
            f"""INSERT INTO moderation_sanction (kind, blacklist_role, category, category_kind, article, note,
                    evidence, needs_approval, status, created_at, approval_note, effect, reportable,
                    report_data, decided_by_id, starts_at, until, target_group_id, target_user_id)
                SELECT k, CASE WHEN k = 'blacklist' THEN 'member' ELSE '' END, 'CONDUCT_FRAUD_SPAM',
                       'conduct',
                       '11(1)', '', '{{}}', false, st, t, '', '{{}}', true, '{{}}',
                       (SELECT min(id) FROM identity_user),
                       CASE WHEN st IN ('pending', 'refused') THEN NULL ELSE t END, t + interval '1 day',
                       CASE WHEN k LIKE 'group%%'
                            THEN (SELECT min(id) FROM groups_chatgroup) + g % {n["groups"]} END,
                       CASE WHEN k LIKE 'group%%' THEN NULL
                            ELSE (SELECT min(id) FROM identity_user) + (g * 13) % {n["users"]} END
                FROM (SELECT g, {spread("sanctions")} AS t, ({kinds})[1 + g % 10] AS k,
                             CASE WHEN g % 13 = 0 THEN 'refused' WHEN g > {n["sanctions"]} - 5 THEN 'pending'
                                  WHEN g > {n["sanctions"]} - 300 THEN 'active' ELSE 'expired' END AS st
                      FROM generate_series(1, {n["sanctions"]}) g) s""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "regulator reports",
            """INSERT INTO reports_regulatorreport (kind, source, idempotency_key, payload, format_version,
                    signature, key_id, state, attempts, last_error, created_at, delivered_at, acknowledged_at,
                    acknowledgement)
                SELECT 'measure', 'sanction:' || s.id, 'bench-' || s.id, '{}', '1', '', 'dev-1',
                       CASE WHEN s.id % 17 = 0 THEN 'delivered' ELSE 'acknowledged' END, 1, '',
                       s.starts_at, s.starts_at, CASE WHEN s.id % 17 = 0 THEN NULL ELSE s.starts_at END, ''
                FROM moderation_sanction s WHERE s.starts_at IS NOT NULL""",
        ),
        (
            "screening evidence",
            f"""INSERT INTO screening_screeningevidence (created_at, action, original_text, normalised_text,
                    hits, context, file_sha256)
                SELECT {spread("evidence")}, (ARRAY['flag', 'hold', 'block'])[1 + g % 3], '命中 ' || g,
                       '命中 ' || g, '[]', '{{}}', ''
                FROM generate_series(1, {n["evidence"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "lexicon terms",
            f"""INSERT INTO screening_lexiconterm (term, normalised, category, action, enabled, source, notes,
                    created_at, updated_at)
                SELECT '词' || g, '词' || g, ({reasons})[1 + g % {len(Reason.values)}],
                       (ARRAY['flag', 'hold', 'block'])[1 + g % 3], g % 25 <> 0, 'bench', '', now(), now()
                FROM generate_series(1, {n["lexicon_terms"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        ("audit chain off", "ALTER TABLE audit_auditevent DISABLE TRIGGER USER"),
        (
            "audit events",
            f"""INSERT INTO audit_auditevent (occurred_at, event_type, actor_kind, door, target_type,
                    target_id, data, group_code, hash, prev_hash, reason, actor_id)
                SELECT {spread("audit_events")}, ({events})[1 + g % {len(EVENTS)}], 'member', 'web', '', '',
                       '{{}}', '', '', '', '', (SELECT min(id) FROM identity_user) + g % {n["users"]}
                FROM generate_series(1, {n["audit_events"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        ("audit chain on", "ALTER TABLE audit_auditevent ENABLE TRIGGER USER"),
        (
            "network logs",
            f"""INSERT INTO audit_networklog (occurred_at, kind, user_id, ip, port, method, path, status,
                    group_code, detail)
                SELECT now() - ({n["network_logs"]} - g) * (interval '365 days' / {n["network_logs"]}),
                       (ARRAY['http', 'http', 'http', 'message', 'ws_connect', 'login'])[1 + g % 6],
                       g % {n["users"]}, '10.1.2.3', 40000 + g % 20000, 'GET', '/', 200, '', '{{}}'
                FROM generate_series(1, {n["network_logs"]}) g""",  # noqa: S608 (this module's numbers only)
        ),
        (
            "digest and check",
            """INSERT INTO audit_logdigest (first_id, last_id, row_count, rows_hash, audit_hash, prev_hash,
                    hash, created_at, exported_at)
                SELECT min(id), max(id) - 100, count(*) - 100, repeat('r', 64), '', '', repeat('h', 64),
                       now(), now()
                FROM audit_networklog;
               INSERT INTO audit_chaincheck (ran_at, ok, checked_events, checked_digests, problems)
                VALUES (now(), true, 0, 1, '[]')""",
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        for label, sql in steps:
            started = time.perf_counter()
            for statement in sql.split(";\n"):
                cursor.execute(statement)
            timings[label] = round(time.perf_counter() - started, 1)
            print(f"  seeded {label} in {timings[label]} s", flush=True)
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        timings["vacuum analyze"] = round(time.perf_counter() - started, 1)
    return timings


def _time_page(repeat: int) -> dict:
    """Cold (cache cleared) and warm (cached) runs of the page's two calls; each row's own cold time."""
    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django.utils.translation import get_language

    from bench.harness import median, percentile
    from reports import dashboard, dashboard_charts

    cold, warm, rows_only, charts_only = [], [], [], []
    per_row: dict[str, list[float]] = {rid: [] for rid in dashboard.COMPUTE}
    language = get_language() or ""
    keys = [dashboard.CACHE_KEY.format(lang=language), dashboard_charts.CACHE_KEY.format(lang=language)]

    def clear() -> None:  # the dashboard's own entries only: the Redis database may be shared
        cache.delete_many(keys)

    # One pass untimed: the process's first imports (pygal, the filing's modules) and translation catalogues
    # are paid once per server process, not per page.
    clear()
    dashboard.requirement_rows_cached()
    dashboard_charts.trend_charts_cached()
    for _ in range(repeat):
        clear()
        started = time.perf_counter()
        dashboard.requirement_rows_cached()
        middle = time.perf_counter()
        dashboard_charts.trend_charts_cached()
        ended = time.perf_counter()
        cold.append(ended - started)
        rows_only.append(middle - started)
        charts_only.append(ended - middle)
        started = time.perf_counter()
        dashboard.requirement_rows_cached()
        dashboard_charts.trend_charts_cached()
        warm.append(time.perf_counter() - started)
        now = timezone.now()
        since = now - dashboard.timedelta(days=dashboard.WINDOW_DAYS)
        for rid, compute in dashboard.COMPUTE.items():
            started = time.perf_counter()
            compute(now, since)
            per_row[rid].append(time.perf_counter() - started)
    clear()
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        dashboard.requirement_rows()
        dashboard_charts.trend_charts()
    query_count = len(queries)
    baseline = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            for _q in range(query_count):
                cursor.execute("SELECT 1")
                cursor.fetchone()
            baseline.append(time.perf_counter() - started)

    def stats(samples) -> dict:
        return {
            "p50_ms": round(median(samples) * 1000, 1),
            "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
            "max_ms": round(max(samples) * 1000, 1),
        }

    slowest = sorted(((median(v), rid) for rid, v in per_row.items()), reverse=True)
    return {
        "queries": query_count,
        "cold": stats(cold),
        "cold_rows": stats(rows_only),
        "cold_charts": stats(charts_only),
        "warm": stats(warm),
        "baseline_select1": stats(baseline),
        "rows_p50_ms": {rid: round(seconds * 1000, 1) for seconds, rid in slowest},
        "statuses": {row.id: row.status for row in dashboard.requirement_rows()},
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the data")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs (cold and warm each)")
    parser.add_argument("--scale", type=float, default=None, help="multiply every size by this")
    args = parser.parse_args(argv)
    scale = args.scale or (0.1 if args.quick else 1.0)
    sizes = {key: max(10, int(value * scale)) for key, value in SIZES.items()}
    repeat = args.repeat or (10 if args.quick else 20)

    from bench.harness import bench_redis_url, print_table, setup_django, write_results

    os.environ["REDIS_URL"] = bench_redis_url()
    setup_django("bench_dashboard")  # a database of its own: the other benchmarks use qunzu_bench
    from django.db import connection

    started = time.perf_counter()
    seeded = _seed(sizes)
    seed_seconds = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        database_mb = round(cursor.fetchone()[0] / 2**20)
    measured = _time_page(repeat)
    ok = measured["cold"]["p95_ms"] < 1000
    results = {
        "sizes": sizes,
        "repeat": repeat,
        "seed_s": seed_seconds,
        "seed_steps_s": seeded,
        "database_mb": database_mb,
        **measured,
        "target": "cold p95 < 1000 ms",
        "target_ok": ok,
    }
    top = list(measured["rows_p50_ms"].items())[:6]
    ratio = round(measured["cold"]["p50_ms"] / max(measured["baseline_select1"]["p50_ms"], 0.1), 1)
    results["cold_over_baseline"] = ratio
    rows = [
        (
            "data",
            f"{sizes['messages']:,} messages, {sizes['network_logs']:,} network logs, "
            f"{sizes['audit_events']:,} audit events, {sizes['users']:,} users, {sizes['groups']:,} groups",
            f"seeded in {seed_seconds} s, {database_mb} MB",
        ),
        ("queries (rows + charts)", str(measured["queries"])),
        (
            "cold p50 / p95 (ms)",
            f"{measured['cold']['p50_ms']} / {measured['cold']['p95_ms']}",
            "ok" if ok else "MISSED (target < 1000)",
        ),
        ("  rows p50 / p95", f"{measured['cold_rows']['p50_ms']} / {measured['cold_rows']['p95_ms']}"),
        ("  charts p50 / p95", f"{measured['cold_charts']['p50_ms']} / {measured['cold_charts']['p95_ms']}"),
        ("warm p50 / p95 (ms)", f"{measured['warm']['p50_ms']} / {measured['warm']['p95_ms']}"),
        (
            "baseline: as many SELECT 1 (ms)",
            f"{measured['baseline_select1']['p50_ms']}",
            f"cold / baseline {ratio}",
        ),
        ("slowest rows p50 (ms)", ", ".join(f"{rid} {ms}" for rid, ms in top)),
    ]
    print_table("dashboard", rows)
    write_results("dashboard", results)
    return results


if __name__ == "__main__":
    main()
