"""`rekap import sirekap` and `rekap export sirekap` on the real stack: the fixture
tree (tests/fixtures/sirekap, Sirekap's own layout) imported, judged as the API
judges, stored once however often it is imported, rolled up and verified, then
written back out in Sirekap's shape.

The fixture files name TPS of desa 3517142001; each test copies them onto TPS
no other test uses (tps_pool), keeping Sirekap's directory layout."""

import copy
import json
import shutil
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import text

from shared import sirekap
from shared.db.engine import engine
from services import sirekap as impor
from services.cli import main
from services.recap.verify import verify
from tests.integration.conftest import quiesce, recap

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sirekap"
DESA = FIXTURES / "pemilu/hhcw/ppwp/35/3517/351714/3517142001"
HARAPAN = json.loads((FIXTURES / "harapan.json").read_text())
N_TPS = 13  # fixture TPS 3517142001001 .. 013
IDS = {"100025": 1, "100026": 2, "100027": 3}


def fresh_tps(tps_pool, n: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < n:
        codes += tps_pool()[1]
    return codes[:n]


def tree(target: Path, codes: list[str]) -> Path:
    """The fixture tree with fixture TPS 001..013 moved onto `codes`, in Sirekap's layout."""
    for src in sorted(FIXTURES.rglob("*.json")):
        rel = src.relative_to(FIXTURES)
        if rel.name == "harapan.json":
            continue
        if src.parent == DESA:
            dest = target / sirekap.jalur_hasil("ppwp", codes[int(src.stem[-3:]) - 1])
        else:
            dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return target


def rows(sql: str, **params):
    with engine().connect() as conn:
        return conn.execute(text(sql), params).all()


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def imported(stack, tps_pool, tmp_path_factory):
    """The fixture tree imported once (through the command line), with what that printed."""
    codes = fresh_tps(tps_pool, N_TPS)
    root = tree(tmp_path_factory.mktemp("sirekap"), codes)
    code, out = cli("import", "sirekap", str(root))
    assert code == 0, out
    return {"codes": codes, "root": root, "out": out, "summary": json.loads(out.strip().splitlines()[-1])}


def by_name(codes: list[str]) -> dict[str, str]:
    """Fixture file name -> the TPS it was imported as."""
    return {f"3517142001{i + 1:03d}.json": kode for i, kode in enumerate(codes)}


def test_every_outcome_is_counted_and_only_accepted_results_are_stored(imported):
    codes = imported["codes"]
    assert imported["summary"] == {"berkas": 14, "diterima": 1, "perlu_periksa": 2, "ditolak": 7, "tidak_lengkap": 3,
                                   "tps_tidak_dikenal": 1, "sudah_ada": 0, "dikunci": 0, "dilewati": 3}
    names = by_name(codes)
    stored = {r.kode_tps: r for r in rows("""
        SELECT kode_tps, versi, jenis, status, oleh, idempotency_key, isian, angka, temuan FROM hasil
        WHERE kode_tps = ANY(:c)""", c=codes)}
    accepted = {names[n]: h for n, h in HARAPAN.items() if h["keputusan"] in ("diterima", "perlu_periksa")}
    assert set(stored) == set(accepted)
    for kode, want in accepted.items():
        h = stored[kode]
        assert (h.versi, h.jenis, h.status, h.oleh) == (1, "kirim", want["keputusan"], "import:sirekap")
        assert h.idempotency_key.startswith("sirekap:") and len(h.idempotency_key) == len("sirekap:") + 64
        assert "surat_suara" not in h.isian and "disabilitas" not in h.isian
        assert not any(k.startswith(("surat_suara", "disabilitas")) for k in h.angka)
        assert set(want["kode"]) <= {t["kode"] for t in h.temuan}

    # one record per file, with its source, Sirekap's time stamp and the version it stored
    record = {r.kode_tps: r for r in rows("""
        SELECT i.kode_tps, i.berkas, i.ts, i.keputusan, i.versi, i.temuan, i.tidak_dilaporkan, i.sirekap, h.kode_tps AS h_tps
        FROM impor_sirekap i LEFT JOIN hasil h ON h.id = i.hasil_id
        WHERE i.kode_tps = ANY(:c) OR i.kode_tps = '3517149999001'""", c=codes)}
    assert len(record) == 14
    for name, want in HARAPAN.items():
        kode = names.get(name, name[:-5])
        r = record[kode]
        assert r.keputusan == want["keputusan"], (name, r.temuan)
        assert set(want["kode"]) <= {t["kode"] for t in r.temuan}, (name, r.temuan)
        assert r.berkas.endswith(f"{kode}.json") and Path(r.berkas).exists()
        assert (r.h_tps == kode) is (want["keputusan"] in ("diterima", "perlu_periksa"))
    clean = record[codes[0]]
    assert clean.ts.isoformat() == "2024-02-16T04:00:29+00:00" and clean.versi == 1
    assert clean.tidak_dilaporkan == ["surat_suara", "disabilitas"] and clean.sirekap["status_adm"] is True
    assert record[names["3517142001002.json"]].ts.isoformat() == "2024-02-15T02:12:44+00:00"

    # what was not stored is printed, one line each, before the summary
    lines = imported["out"].strip().splitlines()[:-1]
    assert len(lines) == 11 and all(line.split("\t")[0] in impor.KEPUTUSAN for line in lines)
    assert any(line.startswith("tidak_lengkap\tppwp\t" + names["3517142001007.json"]) for line in lines)
    audit = rows("SELECT rincian FROM audit WHERE tindakan = 'impor_sirekap' ORDER BY id")
    assert any(a.rincian["diterima"] == 1 and a.rincian["berkas"] == 14 for a in audit)


def test_importing_again_changes_nothing(imported):
    codes = imported["codes"]
    before = rows("SELECT * FROM hasil WHERE kode_tps = ANY(:c) ORDER BY id", c=codes)
    records = rows("SELECT * FROM impor_sirekap WHERE kode_tps = ANY(:c) ORDER BY id", c=codes)
    again = impor.impor([imported["root"]])
    assert again.ringkasan() == {"berkas": 14, "diterima": 0, "perlu_periksa": 0, "ditolak": 7, "tidak_lengkap": 3,
                                 "tps_tidak_dikenal": 1, "sudah_ada": 3, "dikunci": 0, "dilewati": 3}
    assert rows("SELECT * FROM hasil WHERE kode_tps = ANY(:c) ORDER BY id", c=codes) == before
    assert rows("SELECT * FROM impor_sirekap WHERE kode_tps = ANY(:c) ORDER BY id", c=codes) == records


def test_imported_results_are_rolled_up_and_verified(stack, imported, issue):
    codes = imported["codes"]
    names = by_name(codes)
    quiesce()
    clean, flagged = codes[0], names["3517142001002.json"]
    for kode, status in ((clean, "diterima"), (flagged, "perlu_periksa")):
        desa = recap(stack, kode[:10])
        tps = next(t for t in desa["anak"] if t["kode"] == kode)
        assert tps["status"] == status and tps["surat_suara"]["diterima"] == 0
    desa = recap(stack, clean[:10])
    row = next(t for t in desa["anak"] if t["kode"] == clean)
    assert row["suara"] == {"1": 15, "2": 182, "3": 36} and row["pengguna"]["total"]["j"] == 239
    rejected = next(t for t in recap(stack, names["3517142001004.json"][:10])["anak"]
                    if t["kode"] == names["3517142001004.json"])
    assert rejected["status"] == "belum"
    with engine().connect() as conn:
        assert verify(conn, "ppwp") == []
    # the API shows the imported version like any other
    got = requests.get(f"{stack.intake_url}/api/v1/hasil/ppwp/{clean}",
                       headers={"Authorization": f"Bearer {issue('kpps', clean)}"}, timeout=30)
    assert got.status_code == 200 and got.json()["oleh"] == "import:sirekap" and got.json()["versi"] == 1


def test_a_corrected_sirekap_file_makes_a_new_version(stack, imported, tmp_path):
    kode = by_name(imported["codes"])["3517142001002.json"]
    data = json.loads((DESA / "3517142001002.json").read_text())
    data["chart"]["100027"] = 36  # the sum slip fixed, as Sirekap republished it
    data["ts"] = "2024-02-20 08:00:00"
    path = tmp_path / sirekap.jalur_hasil("ppwp", kode)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    assert impor.impor([tmp_path]).ringkasan()["diterima"] == 1
    versions = rows("SELECT versi, status FROM hasil WHERE kode_tps = :t ORDER BY versi", t=kode)
    assert [(v.versi, v.status) for v in versions] == [(1, "perlu_periksa"), (2, "diterima")]
    assert rows("SELECT status FROM hasil_kini WHERE kode_tps = :t", t=kode)[0].status == "diterima"


def test_locked_regions_and_unknown_contests(stack, tps_pool, tmp_path):
    kode = fresh_tps(tps_pool, 1)[0]
    path = tmp_path / sirekap.jalur_hasil("ppwp", kode)
    path.parent.mkdir(parents=True)
    shutil.copyfile(DESA / "3517142001001.json", path)
    with engine().begin() as conn:
        conn.execute(text("INSERT INTO kunci (kode_wilayah, oleh) VALUES (:k, 'test')"), {"k": kode[:10]})
    try:
        locked = impor.impor([path])
        assert locked.ringkasan()["dikunci"] == 1 and locked.masalah[0].temuan[0]["kode"] == "WILAYAH_DIKUNCI"
        assert not rows("SELECT 1 FROM hasil WHERE kode_tps = :t", t=kode)
    finally:
        with engine().begin() as conn:
            conn.execute(text("DELETE FROM kunci WHERE kode_wilayah = :k"), {"k": kode[:10]})
    assert impor.impor([path]).ringkasan()["diterima"] == 1  # once unlocked, the same file goes in
    record = rows("SELECT keputusan, versi FROM impor_sirekap WHERE kode_tps = :t", t=kode)
    assert [(r.keputusan, r.versi) for r in record] == [("diterima", 1)]

    code, out = cli("import", "sirekap", "--kontes", "pkwkx", str(path))
    assert code == 0 and json.loads(out.splitlines()[-1])["tps_tidak_dikenal"] == 1
    assert "KONTES_TIDAK_DIKENAL" in out
    loose = tmp_path / "hasil-tps.json"
    loose.write_text(json.dumps({"chart": None}))
    code, out = cli("import", "sirekap", "-q", str(loose))
    assert json.loads(out)["tps_tidak_dikenal"] == 1 and len(out.splitlines()) == 1


def test_export_writes_sirekap_files_that_read_back(stack, imported, issue, tmp_path):
    from tests.integration.test_foto import foto_jpeg, upload

    codes = imported["codes"]
    clean = codes[0]
    desa = clean[:10]
    quiesce()
    photo = upload(stack, issue("kpps", clean), clean, foto_jpeg(), halaman=1)
    assert photo.status_code == 201
    code, out = cli("export", "sirekap", desa, str(tmp_path), "--url-foto", "https://rekap.example/")
    assert code == 0, out
    tps_codes = [r.kode for r in rows("SELECT kode FROM wilayah WHERE kode_induk = :d ORDER BY kode", d=desa)]
    assert json.loads(out) == {"folder": str(tmp_path), "wilayah": 1, "tps": len(tps_codes)}

    agg = json.loads((tmp_path / sirekap.jalur_hasil("ppwp", desa)).read_text())
    assert agg["mode"] == "hhcw" and sorted(agg["table"]) == tps_codes
    assert agg["table"][clean]["100026"] == 182 and agg["table"][clean]["status_progress"] is True
    assert agg["chart"]["100025"] == sum(v["100025"] or 0 for v in agg["table"].values())
    listed = json.loads((tmp_path / sirekap.jalur_wilayah("ppwp", desa)).read_text())
    assert [x["kode"] for x in listed] == tps_codes and {x["tingkat"] for x in listed} == {5}

    mine = json.loads((tmp_path / sirekap.jalur_hasil("ppwp", clean)).read_text())
    original = json.loads((DESA / "3517142001001.json").read_text())
    assert mine["chart"] == original["chart"] and mine["administrasi"] == original["administrasi"]
    assert mine["ts"] == original["ts"] and mine["status_adm"] is mine["status_suara"] is True
    assert mine["images"] == [f"https://rekap.example/api/v1/hasil/ppwp/{clean}/foto/{photo.json()['sha256']}"]
    assert mine["rekap"]["status"] == "diterima"
    assert sirekap.baca_tps(mine, IDS).body == sirekap.baca_tps(original, IDS).body
    for kode in tps_codes:
        each = json.loads((tmp_path / sirekap.jalur_hasil("ppwp", kode)).read_text())
        assert (each["chart"] is None) is (each["administrasi"] is None) is (each["rekap"]["status"] == "belum")



def test_export_of_a_whole_kabupaten(stack, imported, tmp_path):
    code, out = cli("export", "sirekap", "3517", str(tmp_path))
    assert code == 0, out
    counts = json.loads(out)
    n_tps = rows("SELECT count(*) AS n FROM wilayah WHERE tingkat = 'tps' AND kode LIKE '3517%'")[0].n
    regions = rows("SELECT kode FROM rekap WHERE kontes = 'ppwp' AND kode LIKE '3517%'")
    assert counts == {"folder": str(tmp_path), "wilayah": len(regions), "tps": n_tps}
    assert len(list(tmp_path.rglob("*.json"))) == 2 * len(regions) + n_tps
    kab = json.loads((tmp_path / "pemilu/hhcw/ppwp/35/3517.json").read_text())
    kecamatan = json.loads((tmp_path / "wilayah/pemilu/ppwp/35/3517.json").read_text())
    assert sorted(kab["table"]) == [k["kode"] for k in kecamatan] and len(kecamatan) == 21
    assert {k["tingkat"] for k in kecamatan} == {3} and kab["progres"]["total"] == n_tps == 3858
