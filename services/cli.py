"""The `rekap` command line."""

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import click


@click.group()
def main():
    """rekap: election recap suite (C.Hasil intake, exact rollups, D.Hasil workbooks)."""


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Create or migrate the schema (Alembic)."""
    from shared.db import migrate

    migrate.upgrade()
    click.echo("schema up to date")


@main.command()
@click.option("--wilayah", "wilayah_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="region CSV (format of shared/data); default: Kabupaten Jombang 2024")
@click.option("--pemilu", "pemilu_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="election definition JSON; default: Pemilu 2024 presidential contest")
def seed(wilayah_path, pemilu_path):
    """Load regions and the election definition."""
    from shared.db import seed as seeding

    done = seeding.seed(wilayah_path or seeding.DEFAULT_WILAYAH, pemilu_path or seeding.DEFAULT_PEMILU)
    click.echo(f"loaded {done['wilayah']} regions and TPS; contests: {', '.join(done['kontes'])}")


@main.group()
def token():
    """Bearer tokens."""


@token.command("issue")
@click.option("--role", "peran", required=True, help="kpps, pps, ppk, kpu_kab, kpu_prov or kpu")
@click.option("--wilayah", required=True, help="region code the role acts in (kpu: 0)")
@click.option("--ttl", default="3d", show_default=True, help="lifetime: 3d, 12h, 30m")
def token_issue(peran, wilayah, ttl):
    """Print a new token, alone on the last line."""
    from shared import auth
    from shared.db.engine import engine

    try:
        with engine().begin() as conn:
            raw, tok = auth.issue(conn, peran, wilayah, auth.parse_ttl(ttl))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"# token {tok.id}: {peran} for {wilayah}, expires {time.strftime('%Y-%m-%d %H:%M', time.gmtime(tok.kedaluwarsa))} UTC")
    click.echo(raw)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id):
    """Revoke a token by its id."""
    from shared import auth
    from shared.db.engine import engine

    with engine().begin() as conn:
        if not auth.revoke(conn, token_id):
            raise click.ClickException(f"no active token {token_id}")
    click.echo(f"revoked {token_id}")


@main.command()
@click.option("--kontes", default=None, help="only this contest")
def verify(kontes):
    """Recompute every recap from the TPS results and compare; exit 1 on any difference."""
    from shared.db.engine import engine
    from services.recap.verify import verify as run_verify

    with engine().connect() as conn:
        diffs = run_verify(conn, kontes)
    for d in diffs:
        click.echo(str(d))
    if diffs:
        click.echo(f"{len(diffs)} differences", err=True)
        sys.exit(1)
    click.echo("verify: every recap equals the sum of its TPS results")


@main.command()
@click.argument("kode")
@click.option("--kontes", default=None, help="only result versions of this contest")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def audit(kode, kontes, as_json):
    """A region's history of changes: result versions, locks, tokens."""
    from shared.db.engine import engine
    from services.audit import history

    with engine().connect() as conn:
        entries = history(conn, kode, kontes)
    for e in entries:
        if as_json:
            click.echo(json.dumps(e, ensure_ascii=False))
        else:
            click.echo(f"{e['dibuat'][:19]}  {e['kode']:<13}  {e['tindakan']:<13}  {e['oleh']:<40}  "
                       f"{json.dumps(e['rincian'], ensure_ascii=False)}")
    if not entries:
        click.echo(f"no changes recorded under {kode}", err=True)


@contextlib.contextmanager
def _services():
    """Embedded PostgreSQL/Redis where DATABASE_URL/REDIS_URL are unset, schema migrated."""
    from shared import embedded
    from shared.db import migrate

    with embedded.services() as started:
        for server in started:
            click.echo(f"embedded {server.__class__.__name__} on port {server.port}")
        migrate.upgrade()
        yield


@main.command()
@click.option("--workers", default=1, show_default=True, help="recap worker processes")
def run(workers):
    """The whole stack in the foreground, on embedded services unless configured."""
    from shared import settings
    from shared.db import seed as seeding
    from shared.db.engine import engine
    from sqlalchemy import text
    from services.stack import Stack

    with _services():
        with engine().connect() as conn:
            empty = conn.execute(text("SELECT count(*) FROM kontes")).scalar_one() == 0
        if empty:
            seeding.seed()
        cfg = settings.load()
        stack = Stack(workers=workers, intake_port=cfg.intake_port, export_port=cfg.export_port,
                      log_dir=cfg.data_dir / "log")
        cfg.data_dir.joinpath("log").mkdir(parents=True, exist_ok=True)
        with stack:
            click.echo(f"intake  {stack.intake_url}\nexport  {stack.export_url}\nlogs    {stack.log_dir}\n"
                       "Ctrl-C stops everything.")
            stopping = []
            signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
            try:
                while not stopping:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass


@main.command()
@click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(path_type=Path))
@click.option("--concurrency", default=16, show_default=True, help="parallel KPPS clients")
def demo(out_dir, concurrency):
    """Seed Jombang, submit every TPS through the API, recap, verify, write the workbook."""
    from services import demo as demo_run

    with _services():
        ok = demo_run.run(out_dir, concurrency)
    sys.exit(0 if ok else 1)


# Commands whose code lives with their feature.
from services.loadtest import command as _loadtest  # noqa: E402
from services.sirekap import ekspor_cli as _export, impor_cli as _import  # noqa: E402

main.add_command(_loadtest, "loadtest")
main.add_command(_import, "import")
main.add_command(_export, "export")

if __name__ == "__main__":
    main()
