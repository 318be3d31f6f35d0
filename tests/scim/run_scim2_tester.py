"""Runs scim2-tester (PyPI, python-scim/scim2-tester) against a running cvat-server.

Usage: run_scim2_tester.py BASE_URL SCIM_TOKEN

The tester discovers the provider (ServiceProviderConfig, ResourceTypes, Schemas), then creates,
reads, queries, replaces, patches and deletes resources filled with random values of every
attribute the schemas publish. Every result is printed; the exit status is 1 when any check ends
in ERROR or CRITICAL (MUST-level violations), or when none ran at all.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(
        base_url=f"{base}/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    results = check_server(SyncSCIMClient(http))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        where = f"[{r.resource_type}] " if r.resource_type else ""
        print(f"{r.status.name:<10} {where}{r.title}: {r.reason or ''}")
    failed = [r for r in results if r.status in FAILING]
    print("scim2-tester:", ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items())))
    if not results:
        print("scim2-tester ran no check")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
