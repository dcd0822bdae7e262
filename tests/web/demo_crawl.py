"""Open every page without arguments as each demo user, then one page of each kind they link to (an invoice, a
project, a person: the first link of each path shape), and list those that answer 500: run as
`python -m tests.web.demo_crawl` against a seeded demo database (tests/web/test_demo_launcher.py runs it on the demo's
SQLite file, where SQL written for PostgreSQL alone would fail). Prints one JSON object {path: [users]} and exits 1
when it is not empty. A script (Django is set up in main), hence the imports inside it."""

import json
import os
import re
import sys

LINK = re.compile(r'href="(/[^"#?]*)')
SKIPPED = ("logout", "/admin/", "/api/", "/static/", "export", "download", ".pdf", ".csv", ".xml")
USERS = ("finance", "pm", "sales", "consultant", "admin", "client")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

    names: list[str] = []

    def walk(patterns, namespace: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.append(namespace + p.name)

    walk(get_resolver().url_patterns)
    paths = set()
    for name in names:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:
            continue  # a page of one object: reached from the lists
    failed: dict[str, list[str]] = {}
    opened = 0
    users = get_user_model().objects.filter(username__in=USERS)
    for user in users:
        client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
        client.force_login(user)
        shapes: dict[str, str] = {}  # a path with its numbers as N -> the first such path linked
        for path in sorted(p for p in paths if not any(s in p for s in SKIPPED)):
            response = client.get(path)
            if response.status_code >= 500:
                failed.setdefault(path, []).append(user.username)
            elif response.status_code == 200 and "html" in response.get("Content-Type", ""):
                for link in LINK.findall(response.content.decode(errors="replace")):
                    if link not in paths and not any(s in link for s in SKIPPED):
                        shapes.setdefault(re.sub(r"\d+", "N", link), link)
        for link in sorted(shapes.values()):
            if client.get(link).status_code >= 500:
                failed.setdefault(link, []).append(user.username)
        opened += len(shapes)
    print(json.dumps({"users": users.count(), "paths": len(paths), "linked": opened, "failed": failed}))
    return 1 if failed or users.count() != len(USERS) else 0


if __name__ == "__main__":
    sys.exit(main())
