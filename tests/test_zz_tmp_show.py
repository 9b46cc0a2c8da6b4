from tests.test_scheduler_views import *  # noqa

def test_show(cli, world, db):
    complete(db, task_of(db, world["alfa"], "IVA-T", "2025-Q1"))
    for args in (["list", "--limit", "12"], ["calendar", "--month", "2025-06"], ["calendar", "--month", "agosto 2025", "--client", "1"],
                 ["explain", "1", "LIPE", "2025-Q1"], ["explain", "1", "IVA-T", "2026-Q2"], ["rules"], ["holidays", "2026"],
                 ["export", "--ics", "-", "--client", "1", "--rule", "LIPE"], ["list", "--status", "done", "--json"]):
        r = cli("scheduler", *args)
        print("\n$ sempi scheduler", " ".join(args), "->", r.exit_code)
        print(r.stdout)
        print("[stderr]", r.stderr)
