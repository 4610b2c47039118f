"""Sirekap 2024 data in and out: `rekap import sirekap PATH...` and
`rekap export sirekap KODE DIR`.

Import
------
Each per-TPS file of Sirekap's tree (pemilu/hhcw/ppwp/35/3517/351714/
3517142001/3517142001001.json; the TPS code is the file name, the contest the
directory after `hhcw`) is read by shared.sirekap, judged by the rules of the
API, and stored by the API's own store (services.intake.store.save): a
version of jenis `kirim` by `import:sirekap`, whose Idempotency-Key is the
file's SHA-256, so importing the same file again changes nothing. Every file
read is recorded in `impor_sirekap` (source path, content hash, Sirekap's
`ts`, the outcome, the version it stored). Outcomes:

    diterima, perlu_periksa  stored and counted (as from the API)
    ditolak                  an impossibility (905 read for 105, 888 DPTb voters at a TPS
                             of 250, more votes than ballots), a malformed value, or a
                             Sirekap candidate id that is no paslon: nothing counted
    tidak_lengkap            `administrasi`, `chart` or a box is null: not judged, not counted
    tps_tidak_dikenal        no such TPS holds the contest (or the file name is no TPS code)
    sudah_ada                this very file was stored before (replayed)
    dikunci                  the region was locked after its plenary

Not reported is not zero. Sirekap never published section II (ballots) nor
III (disabled voters), which the API body requires. The import does not
invent them: it judges the body through `nilai_impor`, the API's verdict
with those blocks marked absent. Their type checks and the three rules that
read them (DISABILITAS_MELEBIHI_PENGGUNA, SURAT_SUARA_TIDAK_SESUAI,
SURAT_SUARA_DIGUNAKAN_TIDAK_SESUAI) are skipped, every other rule of
shared.domain.aturan runs unchanged, the stored `angka` has no key for the
absent boxes (sums treat them as 0; the recap counts no ballot that nobody
reported), and a `TIDAK_DILAPORKAN` finding names them. That finding is
informative: it does not make a result `perlu_periksa`.

Export
------
A region's recap in Sirekap's own layout under DIR: for the region and every
region below it, the aggregate `pemilu/hhcw/<kontes>/35/3517.json` (shape of
services.export.sirekap, the one the export API serves) and the region list
`wilayah/pemilu/<kontes>/35/3517.json`; for every TPS, its own file in the
per-TPS shape, with the public URLs of its C.Hasil photos as `images`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
from marshmallow import ValidationError
from sqlalchemy import text

from shared import sirekap
from shared.domain import aturan, hasil
from shared.domain import wilayah as w
from services.intake.periksa import Penilaian, nilai
from services.intake.schemas import CHasil, temuan_dari_error

OLEH = "import:sirekap"
KEPUTUSAN = ("diterima", "perlu_periksa", "ditolak", "tidak_lengkap", "tps_tidak_dikenal", "sudah_ada", "dikunci")
KODE_TPS = re.compile(r"^\d{13}$")

# --- the verdict on a body with blocks not reported ---------------------------

# The rules that read a block: they are not run when the block was not reported.
PERLU_BLOK = {
    aturan.disabilitas_melebihi_pengguna: frozenset({"disabilitas"}),
    aturan.surat_suara_jumlah: frozenset({"surat_suara"}),
    aturan.suara_vs_surat_suara: frozenset({"surat_suara"}),
}
# What the other rules see in place of an absent block: in range and without J boxes, so that
# no rule that merely walks every box (range, L + P = J) can find anything in it.
PENGGANTI = {"disabilitas": {"l": 0, "p": 0}, "surat_suara": {s: 0 for s in hasil.SURAT_SUARA}}

_schema = CHasil()


def nilai_impor(body: dict, paslon: list[int], tidak_dilaporkan: Iterable[str] = sirekap.TIDAK_ADA) -> Penilaian:
    """The API's verdict (services.intake.periksa.nilai) on a body some blocks of which were
    not reported: the same schema and rules, minus the absent blocks and the rules that need them.
    A body with every block is judged by `nilai` itself."""
    absent = tuple(b for b in tidak_dilaporkan if b not in body)
    if not absent:
        return nilai(body, paslon)
    unknown = [b for b in absent if b not in PENGGANTI]
    if unknown:
        raise ValueError(f"no placeholder for absent block(s) {unknown}")
    try:
        isian = _schema.load(body, partial=absent)
    except ValidationError as exc:
        return Penilaian("ditolak", temuan_dari_error(exc.messages), None, malformed=True)
    view = {**isian, **{b: PENGGANTI[b] for b in absent}}
    rules = [rule for rule in aturan.ATURAN if not PERLU_BLOK.get(rule, frozenset()) & set(absent)]
    found = [t for rule in rules for t in rule(view, paslon)]
    status = aturan.status(found)
    angka = None
    if status != "ditolak":
        angka = {k: v for k, v in hasil.ratakan(view).items() if k.split(".", 1)[0] not in absent}
    return Penilaian(status, [t.as_dict() for t in found] + [sirekap.temuan_tidak_dilaporkan(absent)], angka)


# --- import -------------------------------------------------------------------


@dataclass
class Catatan:
    """What became of one file."""

    berkas: str
    kontes: str
    kode_tps: str
    keputusan: str
    temuan: list[dict] = field(default_factory=list)
    versi: int | None = None


@dataclass
class Laporan:
    """Counts per outcome, files skipped in a tree walk (aggregates, region lists), and the
    files that were not stored (ditolak, tidak_lengkap, tps_tidak_dikenal, dikunci)."""

    jumlah: Counter = field(default_factory=Counter)
    dilewati: int = 0
    masalah: list[Catatan] = field(default_factory=list)

    def ringkasan(self) -> dict:
        return {"berkas": sum(self.jumlah.values()), **{k: self.jumlah.get(k, 0) for k in KEPUTUSAN},
                "dilewati": self.dilewati}


def berkas_tps(paths: Iterable[Path]) -> Iterator[tuple[Path | None, int]]:
    """Files to import, in the order given (directories walked in path order, which in Sirekap's
    layout is TPS code order). Yields (file, 0), or (None, 1) for each file of a directory that
    is not a per-TPS file (the region aggregates and lists that share Sirekap's tree)."""
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            yield path, 0
            continue
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(".json"):
                    continue
                if KODE_TPS.match(name[: -len(".json")]):
                    yield Path(root) / name, 0
                else:
                    yield None, 1


def kontes_dari_jalur(path: Path) -> str | None:
    """The contest Sirekap's layout names: the directory after `hhcw`."""
    parts = path.parts
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == sirekap.MODE:
            return parts[i + 1]
    return None


class _Kontes:
    """A contest's paslon and the TPS that hold it, read once per import."""

    def __init__(self, conn, kode: str):
        rows = conn.execute(text("SELECT nomor_urut, sirekap_id FROM paslon WHERE kontes = :k ORDER BY nomor_urut"),
                            {"k": kode}).all()
        self.kode = kode
        self.numbers = [r.nomor_urut for r in rows]
        self.ids = {str(r.sirekap_id or r.nomor_urut): r.nomor_urut for r in rows}
        self.tps = set(conn.execute(text("""
            SELECT t.kode FROM wilayah t JOIN kontes_wilayah kw ON kw.kontes = :k
            WHERE t.tingkat = 'tps' AND (kw.kode_wilayah = :nasional OR t.kode LIKE kw.kode_wilayah || '%')"""),
            {"k": kode, "nasional": w.NASIONAL}).scalars()) if rows else set()


CATAT = text("""
    INSERT INTO impor_sirekap (kontes, kode_tps, berkas, berkas_sha256, ts, keputusan, hasil_id, versi,
                               temuan, tidak_dilaporkan, sirekap, oleh)
    VALUES (:k, :t, :berkas, :sha, :ts, :keputusan,
            (SELECT id FROM hasil WHERE kontes = :k AND kode_tps = :t AND idempotency_key = :key),
            (SELECT versi FROM hasil WHERE kontes = :k AND kode_tps = :t AND idempotency_key = :key),
            CAST(:temuan AS jsonb), CAST(:absent AS jsonb), CAST(:meta AS jsonb), :oleh)
    ON CONFLICT (kontes, kode_tps, berkas_sha256) DO UPDATE
    SET berkas = EXCLUDED.berkas, ts = EXCLUDED.ts, keputusan = EXCLUDED.keputusan, hasil_id = EXCLUDED.hasil_id,
        versi = EXCLUDED.versi, temuan = EXCLUDED.temuan, tidak_dilaporkan = EXCLUDED.tidak_dilaporkan,
        sirekap = EXCLUDED.sirekap
    WHERE impor_sirekap.hasil_id IS NULL
      AND (impor_sirekap.keputusan, impor_sirekap.hasil_id, impor_sirekap.temuan)
          IS DISTINCT FROM (EXCLUDED.keputusan, EXCLUDED.hasil_id, EXCLUDED.temuan)""")


def _temuan_sederhana(kode: str, pesan: str, message: str, fields: list[str]) -> list[dict]:
    return [{"kode": kode, "pesan": pesan, "message": message, "fields": fields}]


@dataclass
class Putusan:
    """The judgement of one readable Sirekap TPS object, before anything is stored."""

    keputusan: str  # diterima | perlu_periksa | ditolak | tidak_lengkap
    temuan: list[dict]
    bacaan: sirekap.Bacaan
    penilaian: Penilaian | None = None  # the rules' verdict, when they ran


def putusan(data, ids: dict[str, int], numbers: list[int]) -> Putusan:
    """Read and judge one Sirekap per-TPS object (pure: no database). `ids` maps Sirekap candidate
    id -> nomor urut, `numbers` are the contest's paslon."""
    bacaan = sirekap.baca_tps(data, ids)
    if bacaan.kurang:  # incomplete: not judged (a candidate id that is no paslon is listed too)
        return Putusan("tidak_lengkap", [sirekap.temuan_kurang(bacaan.kurang), *bacaan.temuan], bacaan)
    if bacaan.body is None or bacaan.temuan:  # not a TPS object, or a candidate that is no paslon
        return Putusan("ditolak", bacaan.temuan, bacaan)
    verdict = nilai_impor(bacaan.body, numbers, bacaan.tidak_dilaporkan)
    return Putusan(verdict.status, verdict.temuan, bacaan, verdict)


def impor_berkas(conn, path: Path, kontes: _Kontes | None, kontes_kode: str, oleh: str = OLEH) -> Catatan:
    """Judge and store one Sirekap per-TPS file; record it in impor_sirekap."""
    from services.intake import store

    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    kode = path.name[: -len(".json")] if path.name.endswith(".json") else path.name
    catatan = Catatan(str(path), kontes_kode, kode, "ditolak")
    bacaan: sirekap.Bacaan | None = None
    key = None
    try:
        data, readable = json.loads(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        data, readable = None, False
        catatan.temuan = _temuan_sederhana("BERKAS_TIDAK_VALID", f"Berkas bukan JSON yang sah: {exc}.",
                                           f"The file is not valid JSON: {exc}.", ["berkas"])
    if kontes is None or not kontes.numbers:
        catatan.keputusan = "tps_tidak_dikenal"
        catatan.temuan = _temuan_sederhana(
            "KONTES_TIDAK_DIKENAL", f"Kontes '{kontes_kode}' tidak dikenal.", f"Unknown contest '{kontes_kode}'.",
            ["kontes"])
    elif not KODE_TPS.match(kode) or kode not in kontes.tps:
        catatan.keputusan = "tps_tidak_dikenal"
        catatan.temuan = _temuan_sederhana(
            "TPS_TIDAK_DIKENAL", f"TPS '{kode}' (nama berkas) tidak dikenal untuk kontes {kontes_kode}.",
            f"TPS '{kode}' (the file name) is not known for contest {kontes_kode}.", ["berkas"])
    elif readable:
        judged = putusan(data, kontes.ids, kontes.numbers)
        bacaan = judged.bacaan
        catatan.keputusan, catatan.temuan = judged.keputusan, judged.temuan
        if judged.keputusan in ("diterima", "perlu_periksa"):
            key = f"sirekap:{sha}"
            try:
                saved = store.save(kontes=kontes.kode, kode_tps=kode, jenis="kirim", isian=bacaan.body,
                                   angka=judged.penilaian.angka, status=judged.keputusan, temuan=judged.temuan,
                                   oleh=oleh, key=key, sha=sha)
            except store.NotFound:
                catatan.keputusan, key = "tps_tidak_dikenal", None
            except store.Locked as exc:
                catatan.keputusan, key = "dikunci", None
                catatan.temuan = _temuan_sederhana(
                    "WILAYAH_DIKUNCI", f"Wilayah {exc.kode} sudah dikunci setelah rapat pleno.",
                    f"Region {exc.kode} is locked after its plenary.", ["kode_tps"])
            else:
                catatan.keputusan = "sudah_ada" if saved.replayed else judged.keputusan
                catatan.versi = saved.jawaban.get("versi")
    conn.execute(CATAT, {
        "k": kontes_kode, "t": kode, "berkas": str(path), "sha": sha,
        "ts": bacaan.ts if bacaan else None, "keputusan": catatan.keputusan, "key": key,
        "temuan": json.dumps(catatan.temuan), "absent": json.dumps(list(bacaan.tidak_dilaporkan) if bacaan else []),
        "meta": json.dumps(bacaan.meta if bacaan else {}, default=str), "oleh": oleh})
    return catatan


def impor(paths: Iterable[Path], kontes: str | None = None, oleh: str = OLEH) -> Laporan:
    """Import Sirekap per-TPS files (or trees of them), then wake the rollup."""
    from shared import audit, outbox
    from shared.db.engine import engine

    laporan = Laporan()
    contests: dict[str, _Kontes] = {}
    paths = [Path(p) for p in paths]
    with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for path, skipped in berkas_tps(paths):
            if path is None:
                laporan.dilewati += skipped
                continue
            kode_kontes = kontes or kontes_dari_jalur(path.resolve()) or "ppwp"
            if kode_kontes not in contests:
                contests[kode_kontes] = _Kontes(conn, kode_kontes)
            catatan = impor_berkas(conn, path, contests[kode_kontes], kode_kontes, oleh)
            laporan.jumlah[catatan.keputusan] += 1
            if catatan.keputusan not in ("diterima", "perlu_periksa", "sudah_ada"):
                laporan.masalah.append(catatan)
        audit.record(conn, oleh, "impor_sirekap", None, sumber=[str(p) for p in paths], **laporan.ringkasan())
    outbox.publish()
    return laporan


# --- export -------------------------------------------------------------------


def foto_url(kontes: str, kode_tps: str, sha256: str, base: str = "") -> str:
    return f"{base.rstrip('/')}/api/v1/hasil/{kontes}/{kode_tps}/foto/{sha256}"


def _tulis(folder: Path, relative: str, data) -> None:
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, target)


def ekspor(kontes: str, kode: str, folder: Path, base_url: str = "") -> dict:
    """Write the recap of region `kode` (and everything below it) in Sirekap's layout.
    Returns how many files of each kind were written; LookupError for an unknown contest or region."""
    from shared.db.engine import engine
    from services.export import rekap
    from services.export import sirekap as bentuk

    folder = Path(folder)
    counts: Counter = Counter()
    try:
        is_tps = w.tingkat(kode) == "tps"
    except ValueError:
        raise LookupError(f"not a region code: {kode!r}") from None
    with engine().connect() as conn:
        paslon = rekap.paslon(conn, kontes)
        if paslon is None:
            raise LookupError(f"unknown contest {kontes!r}")
        pairs = [(p["nomor_urut"], str(p["sirekap_id"] or p["nomor_urut"])) for p in paslon]
        lo, hi = rekap.rentang(kode)
        regions = conn.execute(text("""
            SELECT r.kode FROM rekap r WHERE r.kontes = :k
              AND (CAST(:lo AS text) IS NULL OR r.kode >= :lo) AND (CAST(:hi AS text) IS NULL OR r.kode < :hi)
            ORDER BY r.kode"""), {"k": kontes, "lo": lo, "hi": hi}).scalars().all()
        if not regions and not is_tps:
            raise LookupError(f"no recap of contest {kontes!r} for region {kode!r}")
        for region in regions:
            data = rekap.region(conn, kontes, region)
            _tulis(folder, sirekap.jalur_hasil(kontes, region), bentuk.agregat(data, paslon))
            anak = conn.execute(text("SELECT kode, nama FROM wilayah WHERE kode_induk = :w ORDER BY kode"),
                                {"w": region}).all()
            _tulis(folder, sirekap.jalur_wilayah(kontes, region), sirekap.daftar_wilayah(anak))
            counts["wilayah"] += 1
        images: dict[str, list[str]] = {}
        for r in conn.execute(text("""
                SELECT DISTINCT ON (kode_tps, halaman) kode_tps, halaman, sha256 FROM foto
                WHERE kontes = :k AND (CAST(:lo AS text) IS NULL OR kode_tps >= :lo)
                  AND (CAST(:hi AS text) IS NULL OR kode_tps < :hi)
                ORDER BY kode_tps, halaman, id DESC"""), {"k": kontes, "lo": lo, "hi": hi}):
            images.setdefault(r.kode_tps, []).append(foto_url(kontes, r.kode_tps, r.sha256, base_url))
        rows = conn.execute(text("""
            SELECT t.kode, k.angka, k.status, k.versi, COALESCE(i.ts, h.dibuat) AS ts
            FROM wilayah t
            JOIN rekap d ON d.kontes = :k AND d.kode = t.kode_induk
            LEFT JOIN hasil_kini k ON k.kontes = :k AND k.kode_tps = t.kode
            LEFT JOIN hasil h ON h.id = k.hasil_id
            LEFT JOIN LATERAL (SELECT ts FROM impor_sirekap i WHERE i.hasil_id = k.hasil_id
                               ORDER BY i.id DESC LIMIT 1) i ON TRUE
            WHERE t.tingkat = 'tps'
              AND (CAST(:lo AS text) IS NULL OR t.kode >= :lo) AND (CAST(:hi AS text) IS NULL OR t.kode < :hi)
            ORDER BY t.kode"""), {"k": kontes, "lo": lo, "hi": hi})
        for r in rows:
            extra = {"kode": r.kode, "kontes": kontes, "status": r.status or "belum", "versi": r.versi}
            _tulis(folder, sirekap.jalur_hasil(kontes, r.kode),
                   sirekap.tps_json(r.angka, pairs, ts=r.ts, images=images.get(r.kode), extra=extra))
            counts["tps"] += 1
    if is_tps and not counts["tps"]:
        raise LookupError(f"TPS {kode!r} does not hold contest {kontes!r}")
    return dict(counts)


# --- command line (registered in services/cli.py) -----------------------------


@click.group("import")
def impor_cli():
    """Import results from other systems."""


@impor_cli.command("sirekap")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--kontes", default=None,
              help="contest of every file; default: the directory after 'hhcw' in Sirekap's layout, else ppwp")
@click.option("--quiet", "-q", is_flag=True, help="only the summary, not each file that was not stored")
def impor_sirekap_cmd(paths, kontes, quiet):
    """Import Sirekap 2024 per-TPS JSON files, or directory trees in Sirekap's layout.

    Each file is judged by the rules of the API and stored as a submission by
    import:sirekap; importing the same file again changes nothing. Prints each
    file not stored (outcome, TPS, findings), then a JSON summary on the last line."""
    laporan = impor(paths, kontes)
    if not quiet:
        for c in laporan.masalah:
            kodes = ",".join(t["kode"] for t in c.temuan) or "-"
            click.echo(f"{c.keputusan}\t{c.kontes}\t{c.kode_tps}\t{kodes}\t{c.berkas}")
    click.echo(json.dumps(laporan.ringkasan()))


@click.group("export")
def ekspor_cli():
    """Export recaps in other systems' formats."""


@ekspor_cli.command("sirekap")
@click.argument("kode")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--kontes", default="ppwp", show_default=True)
@click.option("--url-foto", "base_url", default="", help="base URL of the intake API for the photo links")
def ekspor_sirekap_cmd(kode, folder, kontes, base_url):
    """Write the recap of region KODE, and everything below it, as Sirekap 2024 JSON files in DIR."""
    try:
        counts = ekspor(kontes, kode, folder, base_url)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"folder": str(folder), "wilayah": counts.get("wilayah", 0), "tps": counts.get("tps", 0)}),
               file=sys.stdout)
