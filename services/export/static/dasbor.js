/* The dashboard's script (templates/dasbor.html, services/export/dashboard.py).
 *
 * 1. Polls the public recap JSON of the page's region every few seconds and writes
 *    the numbers into the elements marked data-f (inside a container data-w="<kode>"),
 *    and the bar widths into those marked data-lebar: no reload, no chart library.
 * 2. Staff sign-in: the bearer token is kept in sessionStorage (this tab only) and
 *    sent as an Authorization header to the same API a script would use.
 * 3. Staff parts: D.Hasil downloads (202 + job URL for large regions), the review
 *    list, and a TPS's history.
 * Every text from the server is written with textContent, never as HTML.
 */
(function () {
  'use strict';

  var KUNCI = 'rekap.token';
  var XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  var STATUS = { diterima: 'Diterima', perlu_periksa: 'Perlu diperiksa', belum: 'Belum masuk' };
  var JOB = { antre: 'dalam antrean', berjalan: 'sedang dibuat', selesai: 'selesai' };
  var JENIS = { kirim: 'Kiriman', koreksi: 'Koreksi', psu: 'PSU' };

  var body = document.body;
  var kontes = body.getAttribute('data-kontes');
  var kode = body.getAttribute('data-kode');
  var sumber = body.getAttribute('data-sumber');
  var interval = Number(body.getAttribute('data-interval')) || 5000;
  var saya = null;        // who the signed-in token is (/api/v1/dasbor/saya), or null
  var versi = null;       // versi_data of the last recap seen (and the TPS's versi on a TPS page)
  var timer = null;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function tulis(node, text) { if (node) node.textContent = text || ''; }

  // --- formatting: the same rules as dashboard.py ------------------------------------
  function angka(n) { return String(Math.round(Number(n) || 0)).replace(/\B(?=(\d{3})+(?!\d))/g, '.'); }
  function basisPoin(a, b) { return b ? Math.floor((a * 20000 + b) / (2 * b)) : 0; }
  function persenBp(bp) { return Math.floor(bp / 100) + ',' + ('0' + (bp % 100)).slice(-2); }
  function persen(x) { return persenBp(Math.round((Number(x) || 0) * 100)); }
  function dua(n) { return ('0' + n).slice(-2); }
  function waktu(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return '-';
    var d = new Date(t + 7 * 3600 * 1000);  // WIB
    return dua(d.getUTCDate()) + '-' + dua(d.getUTCMonth() + 1) + '-' + d.getUTCFullYear() + ' ' +
      dua(d.getUTCHours()) + ':' + dua(d.getUTCMinutes()) + ':' + dua(d.getUTCSeconds()) + ' WIB';
  }
  function ambil(obj, path) {
    return path.split('.').reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, obj);
  }
  function mencakup(lingkup, k) { return lingkup === '0' || k.indexOf(lingkup) === 0; }

  // --- live numbers --------------------------------------------------------------------
  function daftarTemuan(ul, temuan) {
    while (ul.firstChild) ul.removeChild(ul.firstChild);
    (temuan || []).forEach(function (t) { ul.appendChild(el('li', t.pesan || t.kode)); });
  }

  function isi(wadah, o) {
    $$('[data-f]', wadah).forEach(function (e) {
      if (e.closest('[data-w]') !== wadah) return;
      var f = e.getAttribute('data-f'), fmt = e.getAttribute('data-fmt'), v = ambil(o, f);
      if (fmt === 'temuan') { daftarTemuan(e, v); return; }
      if (fmt === 'status') { e.setAttribute('data-status', v); tulis(e, STATUS[v] || v); return; }
      if (fmt === 'teks') { tulis(e, v === null || v === undefined ? '-' : v); return; }
      if (fmt === 'persen') { tulis(e, persen(v)); return; }
      if (fmt === 'bagian') { tulis(e, persenBp(basisPoin(Number(v) || 0, o.suara_sah))); return; }
      tulis(e, angka(v));
      if (e.hasAttribute('data-sorot')) e.classList.toggle('ada', Number(v) > 0);
    });
    $$('[data-lebar]', wadah).forEach(function (e) {
      if (e.closest('[data-w]') !== wadah) return;
      var v = Number(ambil(o, e.getAttribute('data-lebar'))) || 0;
      if (e.getAttribute('data-fmt') === 'bagian') v = basisPoin(v, o.suara_sah) / 100;
      v = Math.max(0, Math.min(100, v)).toFixed(2) + '%';
      if (e instanceof SVGElement) e.setAttribute('width', v); else e.style.width = v;
    });
  }

  function terapkan(data) {
    var peta = {};
    peta[data.kode] = data;
    (data.anak || []).forEach(function (a) { peta[a.kode] = a; });
    $$('[data-w]').forEach(function (wadah) {
      var o = peta[wadah.getAttribute('data-w')];
      if (o) isi(wadah, o);
    });
    var t = $('#diperbarui');
    if (t) { t.setAttribute('datetime', data.diperbarui); tulis(t, waktu(data.diperbarui)); }
    var fokus = peta[kode] || {}, tanda = data.versi_data + '/' + fokus.versi;
    var berubah = versi !== null && versi !== tanda;
    versi = tanda;
    if (berubah && saya) { muatPeriksa(); if ($('#riwayat')) muatRiwayat(); }
  }

  function status(teks, putus) {
    var s = $('#status-data');
    if (!s) return;
    // The visible line changes every poll; only a change of connection is announced.
    if (putus !== s.classList.contains('putus')) {
      tulis($('#kabar'), putus ? 'Koneksi ke server terputus.' : 'Koneksi pulih; angka diperbarui lagi.');
    }
    s.classList.toggle('putus', !!putus);
    if (putus) { tulis(s, teks); return; }
    if (!$('#diperbarui', s)) {  // back from an outage: rebuild the line
      tulis(s, 'Data per ');
      var t = el('time'); t.id = 'diperbarui'; s.appendChild(t); s.appendChild(document.createTextNode('; diperbarui otomatis.'));
    }
  }

  function jadwal(ms) { clearTimeout(timer); timer = setTimeout(muat, ms || interval); }

  function muat() {
    if (document.hidden) { jadwal(); return; }
    fetch(sumber, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (data) {
      status('', false);
      terapkan(data);
      jadwal();
    }).catch(function () {
      status('Koneksi ke server terputus; angka di bawah mungkin belum terbaru. Mencoba lagi…', true);
      jadwal(Math.min(interval * 3, 30000));
    });
  }

  // --- staff: sign-in ------------------------------------------------------------------
  function token() { try { return sessionStorage.getItem(KUNCI); } catch (e) { return null; } }
  function simpanToken(t) { try { if (t) sessionStorage.setItem(KUNCI, t); else sessionStorage.removeItem(KUNCI); } catch (e) { /* private mode */ } }

  function api(url, extra) {
    var headers = { Authorization: 'Bearer ' + token(), Accept: 'application/json' };
    Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
    return fetch(url, { headers: headers, cache: 'no-store' });
  }

  function pesanGalat(r) {
    return r.json().then(function (p) { return p.pesan || ('HTTP ' + r.status); },
      function () { return 'HTTP ' + r.status; });
  }

  function kedaluwarsa(r) {  // a 401 on a staff request: the token no longer works
    if (r.status !== 401) return false;
    keluar('Token tidak berlaku lagi (kedaluwarsa atau dicabut). Silakan masuk lagi.');
    return true;
  }

  // A staff JSON: its body; null once a 401 has signed the officer out; otherwise an
  // Error carrying the problem's message.
  function ambilJson(url) {
    return api(url).then(function (r) {
      if (kedaluwarsa(r)) return null;
      if (!r.ok) return pesanGalat(r).then(function (p) { throw new Error(p); });
      return r.json();
    });
  }

  function masuk(t, diam) {
    simpanToken(t);
    return api('/api/v1/dasbor/saya').then(function (r) {
      if (r.ok) return r.json().then(function (s) { saya = s; tampilkanPetugas(); });
      return pesanGalat(r).then(function (p) { keluar(diam ? '' : p); });
    }, function () {  // no answer (offline): keep the token, try again later
      var p = $('#pesan-masuk');
      tulis(p, 'Server tidak dapat dihubungi untuk memeriksa token; mencoba lagi…');
      p.hidden = false;
      setTimeout(function () { if (token() && !saya) masuk(token(), diam); }, interval * 2);
    });
  }

  function keluar(alasan) {
    simpanToken(null);
    saya = null;
    $$('.staf, .staf-unduh').forEach(function (e) { e.hidden = true; });
    $('#identitas').hidden = true;
    $('#masuk').hidden = false;
    var p = $('#pesan-masuk');
    tulis(p, alasan || '');
    p.hidden = !alasan;
    if (alasan) $('#masuk').open = true;
  }

  function tampilkanPetugas() {
    $('#masuk').hidden = true;
    $('#masuk').open = false;
    $('#pesan-masuk').hidden = true;
    tulis($('#identitas-nama'), saya.peran_label + ' · ' + saya.nama_wilayah + ' (' + saya.wilayah + ')');
    $('#identitas').hidden = false;
    if (!kode) return;
    var unduh = $('#unduh');
    if (unduh && saya.boleh_unduh) {
      unduh.hidden = false;
      var tombol = $('[data-unduh]', unduh), catatan = $('#unduh-lingkup');
      var boleh = mencakup(saya.wilayah, kode);
      tombol.hidden = !boleh;
      catatan.hidden = boleh;
      if (!boleh) {
        while (catatan.firstChild) catatan.removeChild(catatan.firstChild);
        catatan.appendChild(document.createTextNode('Token Anda berlaku untuk ' + saya.nama_wilayah + ' (' + saya.wilayah + '). '));
        if (mencakup(kode, saya.wilayah)) {
          var a = el('a', 'Buka wilayah Anda untuk mengunduh D.Hasil.');
          a.href = '/?kontes=' + encodeURIComponent(kontes) + '&kode=' + encodeURIComponent(saya.wilayah);
          catatan.appendChild(a);
        }
      }
      $$('.staf-unduh').forEach(function (c) {
        c.hidden = false;
        var b = $('button', c);
        if (b) b.hidden = !mencakup(saya.wilayah, b.getAttribute('data-unduh'));
      });
    }
    if ($('#periksa') && saya.boleh_periksa && (mencakup(saya.wilayah, kode) || mencakup(kode, saya.wilayah))) {
      $('#periksa').hidden = false;
      muatPeriksa();
    }
    if ($('#riwayat')) { $('#riwayat').hidden = false; muatRiwayat(); }
    var tujuan = location.hash && document.getElementById(location.hash.slice(1));
    if (tujuan && !tujuan.hidden) tujuan.scrollIntoView();
  }

  // --- staff: downloads ----------------------------------------------------------------
  function jeda(ms) { return new Promise(function (ok) { setTimeout(ok, ms); }); }

  function simpanBerkas(blob, nama) {
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = nama;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 5000);
  }

  function namaBerkas(r, k) {
    var m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(r.headers.get('Content-Disposition') || '');
    return m ? decodeURIComponent(m[1]) : 'rekap-' + kontes + '-' + k + '.xlsx';
  }

  function jawab(r, k, pesan, ke) {
    if (r.status === 200) {
      return r.blob().then(function (b) {
        var nama = namaBerkas(r, k);
        simpanBerkas(b, nama);
        tulis(pesan, 'Berkas ' + nama + ' diunduh (' + angka(Math.ceil(b.size / 1024)) + ' KB).');
      });
    }
    if (r.status === 202 && ke < 600) {
      var tunggu = Math.max(1, Number(r.headers.get('Retry-After')) || 2) * 1000;
      return r.json().then(function (job) {
        tulis(pesan, 'Berkas D.Hasil ' + k + ' ' + (JOB[job.status] || job.status) +
          '; akan diunduh otomatis setelah selesai.');
        return jeda(tunggu).then(function () { return api(job.url, { Accept: XLSX + ', application/json' }); })
          .then(function (r2) { return jawab(r2, k, pesan, ke + 1); });
      });
    }
    if (kedaluwarsa(r)) return Promise.resolve();
    return pesanGalat(r).then(function (p) { throw new Error(p); });
  }

  function unduh(tombol) {
    var k = tombol.getAttribute('data-unduh'), pesan = $('#unduh-pesan');
    tombol.disabled = true;
    tulis(pesan, 'Menyiapkan D.Hasil ' + k + '…');
    api('/api/v1/rekap/' + encodeURIComponent(kontes) + '/' + encodeURIComponent(k) + '.xlsx',
      { Accept: XLSX + ', application/json' })
      .then(function (r) { return jawab(r, k, pesan, 0); })
      .catch(function (err) { tulis(pesan, 'Gagal mengunduh D.Hasil ' + k + ': ' + err.message); })
      .then(function () { tombol.disabled = false; });
  }

  // --- staff: the review list ----------------------------------------------------------
  function tautanTps(k, teks) {
    var a = el('a', teks);
    a.href = '/?kontes=' + encodeURIComponent(kontes) + '&kode=' + encodeURIComponent(k) + '#riwayat';
    return a;
  }

  function muatPeriksa() {
    var bagian = $('#periksa');
    if (!bagian || bagian.hidden || !saya) return;
    var ringkas = $('#periksa-ringkas'), tabel = $('#periksa-tabel'), tbody = $('tbody', tabel);
    ambilJson('/api/v1/dasbor/periksa/' + encodeURIComponent(kontes) + '/' + encodeURIComponent(kode)).then(function (d) {
      if (!d) return;
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      d.tps.forEach(function (t) {
        var tr = el('tr');
        var th = el('th'); th.scope = 'row';
        th.appendChild(tautanTps(t.kode, t.nama)); th.appendChild(document.createTextNode(' '));
        th.appendChild(el('span', t.kode, 'kode'));
        tr.appendChild(th);
        tr.appendChild(el('td', t.nama_desa));
        tr.appendChild(el('td', t.nama_kecamatan));
        tr.appendChild(el('td', t.versi, 'a'));
        var td = el('td'), ul = el('ul', null, 'temuan'); daftarTemuan(ul, t.temuan); td.appendChild(ul);
        tr.appendChild(td);
        var tdr = el('td'); tdr.appendChild(tautanTps(t.kode, 'Lihat riwayat')); tr.appendChild(tdr);
        tbody.appendChild(tr);
      });
      tabel.hidden = d.tps.length === 0;
      var teks = d.jumlah === 0 ? 'Tidak ada TPS yang perlu diperiksa.' : angka(d.jumlah) + ' TPS perlu diperiksa';
      if (d.kode !== kode) teks += ' di wilayah token Anda (' + d.kode + ')';
      if (d.ditampilkan < d.jumlah) teks += '; ditampilkan ' + angka(d.ditampilkan) + ' pertama';
      tulis(ringkas, teks + (d.jumlah ? '.' : ''));
    }).catch(function (err) { tulis(ringkas, 'Daftar periksa tidak dapat dimuat: ' + err.message); });
  }

  // --- staff: a TPS's history ----------------------------------------------------------
  function muatRiwayat() {
    var pesan = $('#riwayat-pesan'), tabel = $('#riwayat-tabel'), tbody = $('tbody', tabel);
    tulis(pesan, 'Memuat riwayat…');
    ambilJson('/api/v1/dasbor/riwayat/' + encodeURIComponent(kontes) + '/' + encodeURIComponent(kode)).then(function (daftar) {
      if (!daftar) return;
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      daftar.slice().reverse().forEach(function (v) {
        var tr = el('tr');
        tr.appendChild(el('td', v.versi));
        tr.appendChild(el('td', JENIS[v.jenis] || v.jenis));
        var st = el('span', STATUS[v.status] || v.status, 'lencana'); st.setAttribute('data-status', v.status);
        var td = el('td'); td.appendChild(st); tr.appendChild(td);
        tr.appendChild(el('td', v.oleh));
        tr.appendChild(el('td', waktu(v.dibuat)));
        tr.appendChild(el('td', v.alasan || '-'));
        tr.appendChild(el('td', v.isian && v.isian.suara_sah !== undefined ? angka(v.isian.suara_sah) : '-', 'a'));
        var tdt = el('td'), ul = el('ul', null, 'temuan'); daftarTemuan(ul, v.temuan); tdt.appendChild(ul);
        tr.appendChild(tdt);
        tbody.appendChild(tr);
      });
      tabel.hidden = daftar.length === 0;
      tulis(pesan, daftar.length ? daftar.length + ' versi.' : 'TPS ini belum mengirim hasil.');
    }).catch(function (err) { tulis(pesan, 'Riwayat tidak dapat dimuat: ' + err.message); });
  }

  // --- wiring --------------------------------------------------------------------------
  $('#form-masuk').addEventListener('submit', function (e) {
    e.preventDefault();
    var input = $('#token'), t = input.value.trim();
    input.value = '';
    if (t) masuk(t, false);
  });
  $('#keluar').addEventListener('click', function () { keluar(''); $('#masuk summary').focus(); });
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-unduh]');
    if (b) unduh(b);
  });
  if (token()) masuk(token(), true); else $('#masuk').hidden = false;
  if (sumber) {
    document.addEventListener('visibilitychange', function () { if (!document.hidden) muat(); });
    jadwal();
  }
}());
