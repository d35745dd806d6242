"""The `quietroom` command line.

    quietroom serve        prepare the database and serve on the configured address
    quietroom check        check configuration, database and deployment settings
    quietroom setup-link   print a new one-time practice set-up link
    quietroom manage ...   run a Django management command (migrations, shell, ...)

Configuration comes only from environment variables (docs/self-hosting/configuration.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

DESCRIPTION = (
    "Quietroom: online therapy whose server never holds clinical content in plaintext.\n"
    "Configuration comes from QUIETROOM_* environment variables; see "
    "docs/self-hosting/configuration.md."
)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quietroom.settings")
    import django

    django.setup()


def _prepare_database() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def _print_setup_link(*, force: bool) -> bool:
    from django.conf import settings

    from quietroom.practices.services import issue_setup_link, practice_exists

    if practice_exists():
        if force:
            print("This Quietroom already has a practice; no set-up link is needed.")
        return False
    token = issue_setup_link()
    # The token travels in the fragment (#...), which browsers never send to a server, so it
    # cannot end up in an access log or a proxy's log.
    print("\nNo practice is set up yet. Open this one-time link to create it (valid 7 days):")
    print(f"  {settings.CONFIG.public_url}/setup#token={token}\n")
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings

    config = settings.CONFIG
    if not (config.web_dist / "index.html").is_file():
        print(
            f"quietroom: the web client is not built ({config.web_dist}/index.html is missing).\n"
            "Build it with: npm --prefix web ci && npm --prefix web run build",
            file=sys.stderr,
        )
        return 2
    _prepare_database()
    _print_setup_link(force=False)
    import uvicorn

    if config.workers > 1 and (config.database_url is None or config.redis_url is None):
        print(
            "quietroom: QUIETROOM_WORKERS > 1 needs QUIETROOM_DATABASE_URL (PostgreSQL) and "
            "QUIETROOM_REDIS_URL, so that workers share data and real-time delivery",
            file=sys.stderr,
        )
        return 2
    print(
        f"Quietroom is running at {config.public_url}  "
        f"(listening on {config.host}:{config.port}; stop with Ctrl+C)",
        flush=True,
    )
    uvicorn.run(
        "quietroom.asgi:application",
        host=config.host,
        port=config.port,
        workers=config.workers,
        proxy_headers=config.trusted_proxy,
        forwarded_allow_ips="127.0.0.1" if config.trusted_proxy else None,
        server_header=False,  # no version banner (SUP-03)
        access_log=config.access_log,
        log_level="warning",
        lifespan="off",
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    config = settings.CONFIG
    print(f"configuration: ok (data folder {config.data_dir})")
    print(f"public address: {config.public_url}{'' if config.tls else '  (local only, no TLS)'}")
    print(f"database: {connection.vendor}")
    call_command("check", deploy=config.tls, fail_level="WARNING")
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001 - report any connection failure plainly
        print(f"database: cannot connect ({type(exc).__name__})", file=sys.stderr)
        return 1
    print("database connection: ok")
    if not (config.web_dist / "index.html").is_file():
        print(f"web client: not built ({config.web_dist})", file=sys.stderr)
        return 1
    print("web client: built")
    return 0


def cmd_setup_link(args: argparse.Namespace) -> int:
    _setup_django()
    _prepare_database()
    return 0 if _print_setup_link(force=True) else 1


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["quietroom manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quietroom", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="prepare the database and serve Quietroom",
        description="Apply database migrations, print the set-up link if no practice exists yet, "
        "and serve HTTP and WebSockets with uvicorn on QUIETROOM_HOST:QUIETROOM_PORT.",
    )
    serve.set_defaults(func=cmd_serve)

    check = sub.add_parser("check", help="check configuration, database and deployment settings")
    check.set_defaults(func=cmd_check)

    link = sub.add_parser(
        "setup-link", help="print a new one-time practice set-up link (revokes earlier ones)"
    )
    link.set_defaults(func=cmd_setup_link)

    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Files Quietroom creates (database, logs, blobs, outbox) are for its own user only.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
