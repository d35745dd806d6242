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
from pathlib import Path

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

    from quietroom.core.maintenance import housekeeping

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    housekeeping()


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
        # Frames carry ciphertext, which barely compresses; deflate cost CPU per frame and a
        # compression context per open socket (docs/benchmarks.md).
        ws_per_message_deflate=False,
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


def cmd_audit(args: argparse.Namespace) -> int:
    _setup_django()
    from quietroom.audit import services, verification

    if args.audit_command == "verify":
        if args.file is not None:
            try:
                result = verification.verify_file(Path(args.file), args.public_key)
            except (OSError, ValueError) as exc:
                print(f"cannot verify {args.file}: {exc}", file=sys.stderr)
                return 2
        else:
            result = verification.verify_database(record=True)
        print(result.describe())
        return 0 if result.ok else 1
    if args.audit_command == "export":
        services.checkpoint_head()
        with Path(args.output).open("x", encoding="utf-8") as out:
            count = verification.export(out)
        from quietroom.audit.keys import public_key_hex

        print(f"exported {count} events to {args.output}")
        print(f"audit key (record it off this host): {public_key_hex()}")
        return 0
    if args.audit_command == "checkpoint":
        checkpoint = services.checkpoint_head()
        print(f"signed checkpoint at event {checkpoint.seq}" if checkpoint else "no events yet")
        return 0
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    cutoff = timezone.now() - timedelta(days=settings.CONFIG.audit_retention_days)
    deleted = services.purge_before(cutoff)
    from quietroom.core.maintenance import housekeeping

    housekeeping()
    print(f"deleted {deleted} events older than {cutoff:%Y-%m-%d} (retention)")
    return 0


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

    audit = sub.add_parser("audit", help="verify, export, checkpoint or purge the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_sub.add_parser(
        "verify", help="check the hash chain and signed checkpoints; names the first broken link"
    )
    verify.add_argument("--file", help="verify an exported file instead of the database")
    verify.add_argument("--public-key", help="the audit key (hex) recorded off this host")
    export = audit_sub.add_parser(
        "export", help="write the trail as JSON lines for off-host keeping"
    )
    export.add_argument("--output", required=True, help="file to create (must not exist)")
    audit_sub.add_parser("checkpoint", help="sign the chain's current head (run from cron)")
    audit_sub.add_parser(
        "purge", help="delete events older than QUIETROOM_AUDIT_RETENTION_DAYS (default 6 years)"
    )
    audit.set_defaults(func=cmd_audit)

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
