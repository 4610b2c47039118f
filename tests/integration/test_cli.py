"""The `rekap` command line against the real database and stack."""

import os
import subprocess
import sys

from shared import auth, sintetis


def rekap(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_token_issue_prints_the_token_alone_on_the_last_line_and_revoke_stops_it(stack, client, tps_pool):
    _, tps = tps_pool()
    out = rekap("token", "issue", "--role", "kpps", "--wilayah", tps[0], "--ttl", "2h")
    assert out.returncode == 0, out.stderr
    raw = out.stdout.strip().splitlines()[-1]
    token_id = auth.peek(raw)[1]
    assert client(raw).submit(tps[0], sintetis.hasil(tps[0], [1, 2, 3])).status_code == 201
    assert rekap("token", "revoke", token_id).returncode == 0
    auth._known.clear()  # this process's cache; the server's expires within REVOCATION_CACHE
    assert rekap("token", "revoke", token_id).returncode != 0  # already revoked


def test_token_issue_refuses_a_role_at_the_wrong_level():
    out = rekap("token", "issue", "--role", "ppk", "--wilayah", "3517")
    assert out.returncode == 2 and "kecamatan" in out.stderr


def test_seed_again_changes_nothing(stack):
    from sqlalchemy import text

    from shared.db.engine import engine

    def counts():
        with engine().connect() as conn:
            return conn.execute(text("""SELECT (SELECT count(*) FROM wilayah), (SELECT count(*) FROM rekap),
                                               (SELECT sum(tps_total) FROM rekap WHERE tingkat = 'desa'),
                                               (SELECT count(*) FROM paslon)""")).one()

    before = counts()
    out = rekap("seed")
    assert out.returncode == 0 and "contests: ppwp" in out.stdout
    assert counts() == before
    assert before[2] == 3858  # every Jombang TPS expected exactly once
