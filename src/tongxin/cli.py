"""The ``tongxin`` command: demo, serve, seed, audit verify/checkpoint/seal, backup, restore, createuser, and
Django's own commands.

Every command uses ``TONGXIN_DATABASE_URL`` when it is set, else the embedded SQLite file.
"""

from __future__ import annotations

import argparse
import os
import sys
from tongxin.core.actors import SYSTEM


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _chain_waiting() -> None:
    """Chain the audit entries this command wrote before it exits (a served process's
    sequencer thread would do it moments later; a command does not live that long)."""
    from tongxin.core import audit

    audit.seal()


def cmd_migrate(args) -> int:
    _migrate(verbosity=1)
    return 0


def cmd_serve(args) -> int:
    _migrate()
    from django.conf import settings
    from waitress import serve

    from tongxin.wsgi import application

    from tongxin.core.jobs import start_worker

    if not args.no_worker:
        start_worker()  # the embedded default runs periodic jobs beside the web server
    print(f"Tongxin on http://{args.host}:{args.port}/  (database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
    serve(application, host=args.host, port=args.port, threads=args.threads, ident="tongxin")
    return 0


def cmd_seed(args) -> int:
    _migrate()
    from tongxin.demo import seed

    result = seed.run(profile=args.profile, seed=args.seed)
    _chain_waiting()
    seed.print_logins(result)
    return 0


def cmd_demo(args) -> int:
    _migrate()
    from tongxin.demo import seed

    result = seed.ensure_reference_county()
    _chain_waiting()
    seed.print_logins(result)
    return cmd_serve(args)


def cmd_audit(args) -> int:
    import json

    from tongxin.core import audit
    from tongxin.core.services import audit_checkpoint_take

    if args.action == "verify":
        checkpoint = None
        if args.checkpoint:
            try:
                with open(args.checkpoint, encoding="utf-8") as f:
                    checkpoint = json.load(f)
            except (OSError, ValueError) as exc:
                print(f"cannot read the checkpoint {args.checkpoint}: {exc}", file=sys.stderr)
                return 2
        try:
            result = audit.verify(checkpoint=checkpoint)
        except audit.CheckpointInvalid as exc:
            print(f"checkpoint {args.checkpoint} refused: {exc}", file=sys.stderr)
            return 1
        if not result.ok:
            print(f"audit log BROKEN after {result.checked} good entries: {result.problem}", file=sys.stderr)
            return 1
        print(f"audit log intact: {result.checked} entries verified"
              + (f", {result.unlinked} of them not yet chained (each checked on its own)" if result.unlinked else "")
              + (f"; it extends the checkpoint of {checkpoint.get('taken_at')} on all "
                 f"{result.checkpoint_chains} of its chains" if checkpoint is not None else ""))
        return 0
    if args.action == "checkpoint":
        body = audit_checkpoint_take(actor=SYSTEM)
        text = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if args.out:
            with open(args.out, "x", encoding="utf-8") as f:  # never overwrite a kept checkpoint
                f.write(text)
            print(f"checkpoint of {len(body['chains'])} chains written to {args.out}; keep it outside the database")
        else:
            sys.stdout.write(text)
        return 0
    if args.action == "seal":
        print(f"{audit.seal()} entries chained")
        return 0
    return 2


def cmd_backup(args) -> int:
    from pathlib import Path

    from tongxin.core import backup

    target = Path(args.file)
    if target.exists() and not args.force:
        print(f"{target} exists; choose another name or pass --force", file=sys.stderr)
        return 2
    partial = target.with_name(target.name + ".partial")
    # Written beside the target, readable by its owner only, renamed when whole.
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        manifest = backup.backup(out)
    partial.replace(target)
    print(f"backup written to {target}: {backup.describe(manifest)}")
    print("keep the backup key (TONGXIN_BACKUP_KEY, or TONGXIN_ID_KEY it is derived from) apart from the backup")
    return 0


def cmd_restore(args) -> int:
    from tongxin.core import audit, backup

    _migrate()
    try:
        with open(args.file, "rb") as source:
            manifest = backup.restore(source)
    except backup.BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.file}: {backup.describe(manifest)}")
    result = audit.verify()
    if not result.ok:
        print(f"audit log BROKEN after {result.checked} good entries: {result.problem}", file=sys.stderr)
        return 1
    print(f"audit log intact: {result.checked} entries verified")
    return 0


def cmd_createuser(args) -> int:
    _migrate()
    from django.db import transaction

    from tongxin.core.errors import ApplicationError
    from tongxin.grid.models import Department, Node
    from tongxin.people import services
    from tongxin.people.roles import Role

    if args.role not in Role.values:
        print(f"unknown role {args.role!r}; roles: {', '.join(Role.values)}", file=sys.stderr)
        return 2
    node = Node.objects.filter(code=args.node).first()
    if node is None:
        print(f"no node with code {args.node!r}", file=sys.stderr)
        return 2
    department = None
    if args.department:
        # A department at the node or above it, like the API's grant.
        department = Department.objects.filter(node_path__in=node.ancestor_paths(), code=args.department).first()
        if department is None:
            print(f"no department {args.department!r} at or above node {node.code}", file=sys.stderr)
            return 2
    try:
        with transaction.atomic():
            user = services.user_create(actor=SYSTEM, username=args.username, password=args.password,
                                        full_name=args.full_name or "",
                                        preferred_language=args.language)
            services.role_grant(actor=SYSTEM, user=user, role=args.role, node=node, department=department)
    except ApplicationError as exc:
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items())
        print(f"{exc.message} {details}".strip(), file=sys.stderr)
        return 2
    _chain_waiting()
    print(f"created {user.username} as {args.role} at {node.code} {node.name_zh}")
    if services.needs_second_factor(user):
        print("this role logs in with a second factor: it is set up on the first login in the browser")
    return 0


def _moment(text: str | None):
    import datetime as dt

    from django.utils import timezone

    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"--now takes an ISO-8601 moment such as 2027-01-04T09:00:00+08:00, not {text!r}") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def cmd_jobs(args) -> int:
    from tongxin.core.jobs import run_due

    _migrate()
    now = _moment(args.now)
    results = run_due(now, force=args.all)
    _chain_waiting()
    if not results:
        print("no job was due")
    for name, result in results:
        print(f"{name}: {result}")
    return 0


def cmd_worker(args) -> int:
    import time

    from tongxin.core.jobs import start_worker

    _migrate()
    print(f"queueing due periodic jobs every {args.interval} s and running queued tasks (Ctrl-C stops)")
    worker = start_worker(interval=args.interval)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        worker.stop()  # lets a task that is running finish
        worker.executor.join(timeout=60)
        return 0


def cmd_compilemessages(args) -> int:
    from tongxin.core.i18n import ensure_compiled

    done = ensure_compiled(force=True)
    print(f"compiled {len(done)} catalogues")
    return 0


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tongxin manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tongxin", description="Tongxin (同心): grassroots governance for a county.")
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_options(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--threads", type=int, default=8)
        p.add_argument("--no-worker", action="store_true", help="do not run periodic jobs in this process")

    p = sub.add_parser("demo", help="seed the reference county if the database is empty, then serve it")
    serve_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the web interface and the API")
    serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("seed", help="build synthetic data: the reference county (kangma) or a region")
    p.add_argument("--profile", default="kangma", choices=["kangma", "region", "small"])
    p.add_argument("--seed", type=int, default=540230)
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("audit", help="audit log tools: verify it, take a signed checkpoint, chain waiting entries")
    p.add_argument("action", choices=["verify", "checkpoint", "seal"])
    p.add_argument("--checkpoint", metavar="FILE", help="verify: also prove the log still extends this checkpoint")
    p.add_argument("--out", metavar="FILE", help="checkpoint: write it to this new file (default: print it)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("backup", help="write an encrypted, consistent backup of the database (photos included)")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into an empty database, then verify the audit log")
    p.add_argument("file")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("createuser", help="create a user with a role at a node")
    p.add_argument("username")
    p.add_argument("--role", required=True)
    p.add_argument("--node", required=True, help="the node's code, e.g. 540230")
    p.add_argument("--password", required=True)
    p.add_argument("--full-name", default="")
    p.add_argument("--language", default="zh-hans", choices=["zh-hans", "bo", "en"])
    p.add_argument("--department", default="", help="the department's code, for a department officer (e.g. water)")
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("jobs", help="periodic jobs: escalations, auto-close, reminders")
    p.add_argument("action", choices=["run"])
    p.add_argument("--now", help="run as of this ISO-8601 moment (default: the clock)")
    p.add_argument("--all", action="store_true", help="run every job, due or not")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("worker", help="run periodic jobs and queued tasks in the foreground "
                                      "(production runs this separately)")
    p.add_argument("--interval", type=float, default=60.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="create or update the database tables")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("compilemessages", help="compile the translation catalogues")
    p.set_defaults(func=cmd_compilemessages)

    p = sub.add_parser("manage", help="run one of Django's management commands")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup()
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
