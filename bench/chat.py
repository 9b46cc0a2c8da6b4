#!/usr/bin/env python3
"""`sempi chat`, `sempi notify` and `sempi status` on a store of 1,000,000 messages in 2,000 chats.

The store (`--messages`, `--chats`; `--big` for 10,000,000 messages): a firm
admin, a staff member (the one measured: in a tenth of the work groups, some
public and private chats), 60 more firm staff, two practices of one admin and
40 operators each, one external user for each of the first 250 clients; 60% of
the chats are clients' work-group chats (the clients made through the
services, as in the other benches, each work group given one to three more
internal members), the general chat, 7.5% public chats (made and joined
through ChatService) and private ones (made through ChatService with their
members). Then the messages, in batches (memory stays bounded) and one
transaction with executemany: Italian accounting chatter (bench/_chatter.py:
a vocabulary of 5,000 words drawn with a Zipf distribution, names, amounts,
invoice numbers, codici tributo), a year of them, ids in time order, each by
someone who may read the chat, the busiest chats in a Zipf distribution too;
3% are replies, 1% edited, 0.3% deleted (their earlier texts kept as
versions). One work-group chat, the one `send` and `show` are timed on, holds
2% of them. `chats.last_message_id/_at` follow the messages; the admin and the
staff member have read marks (most chats read to the end, some with a few
unread, some never opened: 30% of the work groups the admin oversees, a few
muted); the admin has 100,000 notifications,
the newest 1,000 unread (and the invitations the chats' making sent).

The search index: FTS5 'rebuild' after the rows, not the triggers row by row.
Measured here on 100,000 messages: 4.6 s through the triggers (each row's
trigger and a per-row index insert), 0.7 s as plain inserts then one
'rebuild', which reads `chat_messages` and writes the same index (same
matches, same bm25 order, an index of the same size). At 1,000,000 that is
some 45 s saved, at 10,000,000 several minutes. So the builder drops the three
triggers of m016, inserts, rebuilds and creates the triggers again from their
own text in sqlite_master, all in the one transaction (`--triggers` builds
through the triggers instead, inside store/search.py's `indexed_writes`, and
prints how long that took).

Timed (whole processes, start-up included: median wall time and peak RSS read
with wait4 by bench/_common.py's spawner; every command in interleaved rounds
after one warm-up round, in one run):

  sempi --version                              the start-up floor
  sempi chat send CHAT TEXT                    at 1,000,000 and at 1,000 messages
  sempi chat show CHAT --limit 50              (same chats, users and notifications)
  sempi chat search WORD                       a common word, a rare one, fattur*
  sempi notify list --unread                   100,000 notifications, 1,000 unread
  sempi notify list --unread --limit 20
  sempi chat list                              the admin's, the staff member's
  sempi status, sempi status --short           when the command exists

as the admin (the staff member for their own list and search). CHAT is the
chat's id. The 1,000-message store is the same store before its messages
(a copy), given 1,000 instead.

Targets (issue 14): send and show at 1,000,000 messages at most 1.2x their time
at 1,000; every interactive command at most 1.5x the floor at 1,000,000;
search at most 2x the floor; peak RSS at most 80 MB.

Run: .venv/bin/python bench/chat.py [--messages 1000000] [--chats 2000] [--big]
     [--repeat 9] [--triggers]      (quick try: --messages 20000)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _chatter import Chatter, vocabulary
from _common import (
    ADMIN_EMAIL,
    SEMPI,
    base_env,
    build_store,
    login,
    report,
    report_timing,
    run_all,
    workdir,
)

MESSAGES = 1_000_000
BIG = 10_000_000
SMALL = 1_000
CHATS = 2_000
GROUP_SHARE = 0.60  # of the chats: clients' work groups
PUBLIC_SHARE = 0.075
FIRM_STAFF = 60
OPERATORS = 40  # per practice, with one practice admin
EXTERNALS = 250
MEASURED_EMAIL = "giulia.ferri@bench.test"
MEASURED_PASSWORD = "bench-staff-password"
NOTIFICATIONS = 100_000
UNREAD_NOTIFICATIONS = 1_000
TARGET_SHARE = 50  # one message in 50 goes to the chat send and show are timed on
TARGET_MIN = 100
BATCH = 50_000
YEAR = timedelta(days=365)
SEND_TEXT = "Ho caricato le fatture di marzo nel cassetto: controllate il saldo F24 entro il 16/04"
PREFIX = "fattur*"
COMMON = "fattura"

FLAT_TARGET = 1.2
FLOOR_TARGET = 1.5
SEARCH_TARGET = 2.0
RSS_TARGET_MB = 80.0

_TOPICS = (
    "Novità fiscali", "Paghe e contributi", "Bilanci", "Circolari", "Software", "Formazione",
    "Scadenzario", "IVA", "Dichiarativi", "Antiriciclaggio", "Crisi d'impresa", "Contenzioso",
)  # fmt: skip


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Base:
    """What the message builder needs to know of the store before its messages."""

    admin: int
    staff: int
    general: int
    target: int  # the work-group chat send and show are timed on
    kinds: dict[int, str] = field(default_factory=dict)
    posters: dict[int, list[int]] = field(default_factory=dict)  # who may write in each chat
    admin_reads: set[int] = field(default_factory=set)  # chats the admin may read
    staff_reads: set[int] = field(default_factory=set)  # chats that are the staff member's
    users: int = 0


def _actor(conn: sqlite3.Connection, user_id: int):
    from sempi_cli.services.identity.auth import actor_from_row

    return actor_from_row(conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())


def build_base(store: Path, chats: int, notifications: int, unread: int, seed: int) -> Base:
    """Firm, people, clients and chats through the services; the admin's notifications
    in bulk. No messages but the public chats' descriptions."""
    from sempi_cli.clock import SystemClock
    from sempi_cli.services.chat.chats import ChatService
    from sempi_cli.services.chat.membership import Membership
    from sempi_cli.services.org.groups import add_members
    from sempi_cli.services.org.users import UserService
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(seed)
    groups = round(chats * GROUP_SHARE)
    public = round(chats * PUBLIC_SHARE)
    private = chats - 1 - groups - public
    built = build_store(store, groups)
    client_ids: list[int] = list(built["client_ids"])  # type: ignore[call-overload]
    studio_ids: list[int] = list(built["studio_ids"])  # type: ignore[call-overload]
    clock = SystemClock()
    conn = open_store(store)
    try:
        admin_id = conn.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()
        admin_id = admin_id[0]
        admin = _actor(conn, admin_id)
        firm: list[int] = [admin_id]  # firm users: see every internal user
        by_studio: dict[int, list[int]] = {s: [] for s in studio_ids}
        with write_transaction(conn):
            users = UserService(conn, clock, admin)
            staff_id = users.add(
                MEASURED_EMAIL, "Giulia Ferri", "staff", password=MEASURED_PASSWORD
            )["id"]
            firm.append(staff_id)
            firm += [r[0] for r in conn.execute("SELECT id FROM users WHERE role = 'staff'")]
            firm += [
                users.add(f"staff{n}@bench.test", f"Staff {n} Bench", "staff")["id"]
                for n in range(FIRM_STAFF)
            ]
            for s, studio in enumerate(studio_ids):
                people = [(f"admin{s}", f"Titolare {s} Bench", "studio-admin")]
                people += [
                    (f"op{s}.{n}", f"Operatore {s} {n}", "studio-operator")
                    for n in range(OPERATORS)
                ]
                for name, full_name, role in people:
                    user = users.add(f"{name}@bench.test", full_name, role, studio=studio)
                    by_studio[studio].append(user["id"])
            for client in client_ids[:EXTERNALS]:  # each joins the client's work group
                users.add(f"cliente{client}@bench.test", f"Referente {client}", "external",
                          client=client)  # fmt: skip
            firm = list(dict.fromkeys(firm))
            studio_of = dict(conn.execute("SELECT id, studio_id FROM clients"))
            pairs = []
            staff_groups = set(rng.sample(client_ids, max(1, len(client_ids) // 10)))
            for client in client_ids:
                # Firm staff (not the admin, not the measured one) and the practice's operators.
                pool = firm[2:] + by_studio[studio_of[client]][1:]
                pairs += [(client, u) for u in rng.sample(pool, rng.randint(1, 3))]
                if client in staff_groups:
                    pairs.append((client, staff_id))
            add_members(conn, pairs, iso(clock.now()), admin_id)
        internal = firm + [u for ids in by_studio.values() for u in ids]
        chatter = Chatter(random.Random(seed + 1))
        with write_transaction(conn):
            for n in range(public):
                creator = rng.choice(internal)
                made = ChatService(conn, clock, _actor(conn, creator)).add(
                    f"{_TOPICS[n % len(_TOPICS)]} {n + 1}", public=True, description=chatter.text()
                )
                joiners = set(rng.sample(internal, rng.randint(5, 40))) - {creator}
                if rng.random() < 0.3:
                    joiners.add(admin_id)
                if rng.random() < 0.25:
                    joiners.add(staff_id)
                for user in sorted(joiners - {creator}):
                    Membership(conn, clock, _actor(conn, user)).join(made["id"])
            emails = dict(conn.execute("SELECT id, email FROM users"))
            studio_by_user = {u: s for s, ids in by_studio.items() for u in ids}
            for _ in range(private):
                roll = rng.random()
                creator = (
                    admin_id if roll < 0.1 else staff_id if roll < 0.2 else rng.choice(internal)
                )
                studio = studio_by_user.get(creator)
                pool = firm + (
                    by_studio[studio] if studio else [u for ids in by_studio.values() for u in ids]
                )
                members = set(rng.sample(pool, rng.randint(1, 7))) - {creator}
                if rng.random() < 0.08:
                    members.add(staff_id)
                ChatService(conn, clock, _actor(conn, creator)).add(
                    f"{rng.choice(_TOPICS)} {rng.choice(('2025', '2026', 'urgente', 'team'))}",
                    members=[emails[u] for u in sorted(members - {creator})],
                )
        base = _describe(conn, admin_id, staff_id, rng)
        add_notifications(conn, base, notifications, unread, rng)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return base


def _describe(conn: sqlite3.Connection, admin_id: int, staff_id: int, rng: random.Random) -> Base:
    """Who may write where, and which chats are the measured users'."""
    kinds = dict(conn.execute("SELECT id, kind FROM chats ORDER BY id"))
    general = next(c for c, k in kinds.items() if k == "general")
    internal = [r[0] for r in conn.execute("SELECT id FROM users WHERE role <> 'external'")]
    posters: dict[int, list[int]] = {c: [] for c in kinds}
    posters[general] = internal
    for chat, user in conn.execute(
        "SELECT ch.id, w.user_id FROM chats ch JOIN work_group_members w ON w.client_id = ch.client_id"
    ):
        posters[chat].append(user)
    for chat, user in conn.execute("SELECT chat_id, user_id FROM chat_members"):
        posters[chat].append(user)
    admin_reads = {
        c for c, k in kinds.items() if k in ("general", "group") or admin_id in posters[c]
    }
    staff_reads = {c for c in kinds if staff_id in posters[c]}
    staff_groups = [c for c in staff_reads if kinds[c] == "group"]
    return Base(
        admin=admin_id,
        staff=staff_id,
        general=general,
        target=rng.choice(sorted(staff_groups)),
        kinds=kinds,
        posters=posters,
        admin_reads=admin_reads,
        staff_reads=staff_reads,
        users=conn.execute("SELECT count(*) FROM users").fetchone()[0],
    )


def add_notifications(
    conn: sqlite3.Connection, base: Base, count: int, unread: int, rng: random.Random
) -> None:
    """The admin's inbox: ``count`` notifications over a year, the newest ``unread``
    not read yet (bench data: straight to the table, one transaction)."""
    kinds = ("message", "mention", "task", "invitation", "reminder", "document")
    weights = (45, 10, 30, 5, 7, 3)
    chats = sorted(base.admin_reads)
    titles = dict(conn.execute("SELECT id, title FROM chats"))
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    start = now - YEAR
    rows = []
    for n in range(count):
        at = start + YEAR * n / max(count, 1)
        kind = rng.choices(kinds, weights)[0]
        chat = rng.choice(chats) if kind in ("message", "mention", "invitation") else None
        text = {
            "message": f"New messages in chat {chat} ({titles.get(chat)})",
            "mention": f"staff{rng.randrange(FIRM_STAFF)}@bench.test mentioned you in chat {chat}",
            "task": f"Attività {rng.randint(1, 20_000)} assegnata a te: registrazione fatture",
            "invitation": f"Staff Bench added you to the chat {titles.get(chat)!r}",
            "reminder": f"Promemoria: F24 ritenute entro il {rng.randint(1, 28):02d}/{at.month:02d}",
            "document": f"Il cliente ha scaricato il documento {rng.randint(1, 9999)}",
        }[kind]
        read_at = None if n >= count - unread else iso(at + timedelta(hours=rng.randint(1, 72)))
        rows.append((base.admin, kind, chat, text, f"bench:{n}", iso(at), read_at))
    from sempi_cli.store import write_transaction

    with write_transaction(conn):
        conn.executemany(
            "INSERT INTO notifications (user_id, kind, chat_id, text, source, created_at, read_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def _chat_weights(base: Base, rng: random.Random) -> tuple[list[int], list[float]]:
    """Every chat but the target, busiest first in a Zipf distribution: the general
    chat first, the others in a random order."""
    others = [c for c in base.kinds if c not in (base.general, base.target) and base.posters[c]]
    rng.shuffle(others)
    order = [base.general, *others]
    cumulative, total = [], 0.0
    for rank in range(1, len(order) + 1):
        total += rank**-0.8
        cumulative.append(total)
    return order, cumulative


def add_messages(store: Path, base: Base, count: int, seed: int, triggers: bool) -> dict:
    """``count`` messages over the year before now, in one transaction; returns
    figures about them."""
    from sempi_cli.store import open_store, write_transaction
    from sempi_cli.store.search import indexed_writes

    rng = random.Random(seed)
    chatter = Chatter(random.Random(seed + 1))
    order, cumulative = _chat_weights(base, rng)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = (now - YEAR).timestamp()
    conn = open_store(store)
    figures: dict[str, float] = {}
    try:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MB for the build only
        first, there = conn.execute(
            "SELECT coalesce(max(id), 0) + 1, count(*) FROM chat_messages"
        ).fetchone()
        count -= there  # the public chats' descriptions are messages already
        every = max(1, min(count // TARGET_MIN, TARGET_SHARE))  # the target's share
        step = YEAR.total_seconds() / max(count, 1)
        last_in: dict[int, int] = {}
        began = time.perf_counter()
        with write_transaction(conn):
            # The descriptions, written by ChatService a moment ago, open the year.
            opening = datetime.fromtimestamp(int(start) - 60, UTC).isoformat()
            conn.execute("UPDATE chat_messages SET created_at = ?", (opening,))
            conn.execute(
                "UPDATE chats SET last_message_at = ? WHERE last_message_id IS NOT NULL", (opening,)
            )
            dropped = []
            if not triggers:
                dropped = conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    " AND tbl_name = 'chat_messages' AND name LIKE 'chat_search_%' ORDER BY name"
                ).fetchall()
                for name, _ in dropped:
                    conn.execute(f"DROP TRIGGER {name}")
            for low in range(0, count, BATCH):
                rows, versions = [], []
                for i in range(low, min(count, low + BATCH)):
                    if i % every == every - 1:
                        chat = base.target
                    else:
                        chat = rng.choices(order, cum_weights=cumulative)[0]
                    if chat in base.admin_reads and rng.random() < 0.03:
                        author = base.admin  # the admin writes in any chat they read
                    else:
                        author = rng.choice(base.posters[chat])
                    message_id = first + i
                    at = start + i * step
                    created = datetime.fromtimestamp(int(at), UTC).isoformat()
                    body = chatter.text()
                    reply = last_in.get(chat) if rng.random() < 0.03 else None
                    edited = deleted = None
                    roll = rng.random()
                    if roll < 0.01:
                        edited = datetime.fromtimestamp(int(at) + 300, UTC).isoformat()
                        versions.append((message_id, 1, chatter.text(), edited, author))
                    elif roll < 0.013:
                        deleted = datetime.fromtimestamp(int(at) + 600, UTC).isoformat()
                        versions.append((message_id, 1, body, deleted, author))
                        body = ""
                    rows.append((message_id, chat, author, body, reply, created, edited, deleted))
                    last_in[chat] = message_id
                with indexed_writes(conn):  # a no-op for the triggers once they are dropped
                    conn.executemany(
                        "INSERT INTO chat_messages (id, chat_id, author_id, kind, body, reply_to,"
                        " created_at, edited_at, deleted_at) VALUES (?, ?, ?, 'text', ?, ?, ?, ?, ?)",
                        rows,
                    )
                conn.executemany(
                    "INSERT INTO chat_message_versions (message_id, version, body, replaced_at,"
                    " replaced_by) VALUES (?, ?, ?, ?, ?)",
                    versions,
                )
            figures["rows_s"] = time.perf_counter() - began
            if dropped:
                indexing = time.perf_counter()
                with indexed_writes(conn):
                    conn.execute("INSERT INTO chat_search (chat_search) VALUES ('rebuild')")
                for _, sql in dropped:
                    conn.execute(sql)
                figures["index_s"] = time.perf_counter() - indexing
            conn.executemany(
                "UPDATE chats SET last_message_id = ?, last_message_at ="
                " (SELECT created_at FROM chat_messages WHERE id = ?) WHERE id = ?",
                [(m, m, c) for c, m in last_in.items()],
            )
        figures["build_s"] = time.perf_counter() - began
        checkpoint = time.perf_counter()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures["checkpoint_s"] = time.perf_counter() - checkpoint
        figures["target_messages"] = conn.execute(
            "SELECT count(*) FROM chat_messages WHERE chat_id = ?", (base.target,)
        ).fetchone()[0]
        figures["messages"] = conn.execute("SELECT count(*) FROM chat_messages").fetchone()[0]
    finally:
        conn.close()
    return figures


def add_marks(store: Path, base: Base, seed: int) -> dict[str, int]:
    """Read marks of the admin and the staff member. In the chats they are in: 72%
    read to the end, 22% with 1 to 25 unread, 6% never opened; in the work groups
    the admin only oversees (all of them: the admin is in none), 40%, 30% and 30%.
    One in twenty muted; the target chat read to the end. Returns how many marks
    the admin has."""
    from sempi_cli.store import open_store, write_transaction

    rng = random.Random(seed)
    conn = open_store(store)
    try:
        last = dict(conn.execute("SELECT id, last_message_id FROM chats"))
        own_groups = {
            c
            for c in base.admin_reads
            if base.kinds[c] == "group" and base.admin in base.posters[c]
        }
        rows = []
        for user, chats in ((base.admin, base.admin_reads), (base.staff, base.staff_reads)):
            for chat in sorted(chats):
                newest = last.get(chat)
                if newest is None:
                    continue
                oversees = (
                    user == base.admin and base.kinds[chat] == "group" and chat not in own_groups
                )
                roll = rng.random()
                if chat == base.target or roll < (0.4 if oversees else 0.72):
                    mark: int | None = newest
                elif roll < (0.7 if oversees else 0.94):
                    behind = conn.execute(
                        "SELECT id FROM chat_messages WHERE chat_id = ? ORDER BY id DESC"
                        " LIMIT 1 OFFSET ?",
                        (chat, rng.randint(1, 25)),
                    ).fetchone()
                    mark = behind[0] if behind else 0
                else:
                    mark = None  # never opened
                muted = int(chat != base.target and rng.random() < 0.05)
                if mark is not None or muted:
                    rows.append((chat, user, mark or 0, muted))
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO chat_marks (chat_id, user_id, read_up_to, muted) VALUES (?, ?, ?, ?)",
                rows,
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"admin": sum(1 for r in rows if r[1] == base.admin)}


def match_counts(store: Path, words: dict[str, str]) -> dict[str, int]:
    """How many messages each search matches (before access rules and LIMIT)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {
            name: conn.execute(
                "SELECT count(*) FROM chat_search WHERE chat_search MATCH ?", (word,)
            ).fetchone()[0]
            for name, word in words.items()
        }
    finally:
        conn.close()


def _json_rows(cmd: list[str], env: dict[str, str]) -> list[dict]:
    """What a command prints with --json (untimed: to describe what was timed)."""
    import json

    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {done.returncode}: {done.stderr}")
    return json.loads(done.stdout)


def _available(cmd: list[str], env: dict[str, str]) -> str | None:
    """None if the command runs, else why not (its first line of error)."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
    return f"exit {done.returncode}: {lines[-1]}"


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages in the store")
    parser.add_argument("--chats", type=int, default=CHATS, help="chats in the store")
    parser.add_argument("--big", action="store_true", help=f"{BIG:,} messages")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each command")
    parser.add_argument("--notifications", type=int, default=NOTIFICATIONS, help="the admin's")
    parser.add_argument(
        "--unread-notifications", type=int, default=UNREAD_NOTIFICATIONS, help="of those, unread"
    )
    parser.add_argument(
        "--triggers", action="store_true", help="index the messages through the triggers"
    )
    parser.add_argument("--seed", type=int, default=20261116)
    args = parser.parse_args()
    count = BIG if args.big else args.messages
    if count <= SMALL:
        parser.error(f"--messages must be more than {SMALL}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"# bench/chat.py: {count:,} messages vs {SMALL:,} in {args.chats:,} chats;"
        f" {args.repeat} runs of each command in interleaved rounds, medians;"
        f" load average at start {load} on {os.cpu_count()} CPUs",
        flush=True,
    )
    with workdir() as home:
        began = time.perf_counter()
        base = build_base(
            home / "base.db", args.chats, args.notifications, args.unread_notifications, args.seed
        )
        report("store_base_build_time", time.perf_counter() - began, "s")
        report(
            "store_base",
            len(base.kinds),
            f"chats ({', '.join(f'{k} {list(base.kinds.values()).count(k)}' for k in ('general', 'group', 'public', 'private'))}),"
            f" {base.users} users, {args.notifications:,} notifications of the admin"
            f" ({args.unread_notifications:,} unread)",
        )
        stores = {}
        for size, seed in ((SMALL, args.seed + 10), (count, args.seed + 20)):
            store = home / f"sempi-{size}.db"
            shutil.copy2(home / "base.db", store)
            made = add_messages(store, base, size, seed, args.triggers)
            marked = add_marks(store, base, seed + 1)
            stores[size] = store
            how = "triggers" if args.triggers else "rows, then FTS5 rebuild"
            report(
                f"store_{size}_messages_build_time",
                made["build_s"],
                f"s ({how}: rows {made['rows_s']:.1f} s"
                + (f", rebuild {made['index_s']:.1f} s" if "index_s" in made else "")
                + f"; checkpoint {made['checkpoint_s']:.1f} s)",
            )
            report(
                f"store_{size}_messages",
                made["messages"],
                f"(chat {base.target}: {made['target_messages']:,}; the admin has {marked['admin']} read marks)",
            )
            report(f"store_{size}_size", store.stat().st_size / 1_048_576, "MB")
        (home / "base.db").unlink()
        rare = vocabulary()[-1]  # the least frequent word
        words = {"common": COMMON, "rare": rare, "prefix": PREFIX}
        found = match_counts(stores[count], words)
        report(
            "search_words",
            ", ".join(f"{k} {w!r} matches {found[k]:,}" for k, w in words.items()),
        )

        envs: dict[str, dict[str, str]] = {}
        admin_home, staff_home = home / "admin", home / "staff"
        admin_home.mkdir(mode=0o700)
        staff_home.mkdir(mode=0o700)
        for size, store in stores.items():
            envs[f"admin_{size}"] = base_env(admin_home, store)
            login(envs[f"admin_{size}"])
        envs["staff"] = base_env(staff_home, stores[count])
        login(envs["staff"], MEASURED_EMAIL, MEASURED_PASSWORD)
        big = envs[f"admin_{count}"]
        chat = str(base.target)
        commands: dict[str, list[str]] = {"sempi_version": [SEMPI, "--version"]}
        where: dict[str, dict[str, str]] = {"sempi_version": big}
        for size in (count, SMALL):
            commands[f"chat_send_{size}"] = [SEMPI, "chat", "send", chat, SEND_TEXT]
            commands[f"chat_show_{size}"] = [SEMPI, "chat", "show", chat, "--limit", "50"]
            where[f"chat_send_{size}"] = where[f"chat_show_{size}"] = envs[f"admin_{size}"]
        for name, word in words.items():
            commands[f"chat_search_{name}"] = [SEMPI, "chat", "search", word]
            where[f"chat_search_{name}"] = big
        commands["chat_search_common_staff"] = [SEMPI, "chat", "search", COMMON]
        where["chat_search_common_staff"] = envs["staff"]
        commands["notify_list_unread"] = [SEMPI, "notify", "list", "--unread"]
        commands["notify_list_unread_limit_20"] = [SEMPI, "notify", "list", "--unread", "-n", "20"]
        commands["chat_list_admin"] = [SEMPI, "chat", "list"]
        commands["chat_list_staff"] = [SEMPI, "chat", "list"]
        where.update(
            notify_list_unread=big, notify_list_unread_limit_20=big, chat_list_admin=big,
            chat_list_staff=envs["staff"],
        )  # fmt: skip
        status = _available([SEMPI, "status", "--help"], big)
        if status is None:
            commands["status"] = [SEMPI, "status"]
            commands["status_short"] = [SEMPI, "status", "--short"]
            where["status"] = where["status_short"] = big
            for name in ("status", "status_short"):
                failed = _available(commands[name], big)
                if failed is not None:
                    print(f"{name}: not available ({failed})", flush=True)
                    del commands[name], where[name]
        else:
            print(f"status: not available (`sempi status --help` {status})", flush=True)
            print("status_short: not available", flush=True)

        # What the timed commands show (untimed, before the rounds).
        for who, env in (("admin", big), ("staff", envs["staff"])):
            chats = _json_rows([SEMPI, "chat", "list"], env)
            unread = [c for c in chats if c["unread"]]
            report(
                f"chat_list_{who}_rows",
                len(chats),
                f"chats, {len(unread)} with unread messages ({sum(c['unread'] for c in unread):,})",
            )
        shown = {
            name: len(_json_rows(commands[name], where[name]))
            for name in commands
            if name.startswith(("chat_search", "notify_list"))
        }
        report("rows_shown", ", ".join(f"{n} {k:,}" for n, k in shown.items()))
        results = run_all(commands, big, args.repeat, envs=where)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# load average at the end {load}", flush=True)
    for name, (median, peak) in results.items():
        report_timing(name, median, peak)

    floor = results["sempi_version"][0]
    verdicts: list[str] = []

    def check(name: str, value: float, target: float, unit: str, note: str = "") -> None:
        verdict = _verdict(value, target)
        verdicts.append(verdict)
        gap = " " if unit == "MB" else ""
        report(name, value, f"{unit} (target <= {target:g}{gap}{unit}: {verdict}){note}")

    for verb in ("send", "show"):
        check(
            f"chat_{verb}_{count}_vs_{SMALL}",
            results[f"chat_{verb}_{count}"][0] / results[f"chat_{verb}_{SMALL}"][0],
            FLAT_TARGET,
            "x",
        )
    interactive = [f"chat_send_{count}", f"chat_show_{count}", "notify_list_unread"]
    interactive += ["notify_list_unread_limit_20", "chat_list_admin", "chat_list_staff"]
    interactive += [n for n in ("status", "status_short") if n in results]
    for name in interactive:
        check(f"{name}_vs_floor", results[name][0] / floor, FLOOR_TARGET, "x")
    for name in (n for n in results if n.startswith("chat_search")):
        check(f"{name}_vs_floor", results[name][0] / floor, SEARCH_TARGET, "x")
    peak_name = max((n for n in results if n != "sempi_version"), key=lambda n: results[n][1])
    check("peak_rss_max", results[peak_name][1], RSS_TARGET_MB, "MB", f" ({peak_name})")
    if "status" not in results:
        report("status", "not measured (`sempi status` is not available)")
    report("targets", f"{verdicts.count('met')} met, {verdicts.count('MISSED')} MISSED")


if __name__ == "__main__":
    main()
