/* t-crypt.c - keys and the encrypted artifact format (lib/crypt.c, man/ado-format.5). */
#include "format/crypt.h"
#include "base/log.h"
#include "tap.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define CH ADO_CRYPT_CHUNK
#define SEALED ((size_t)CH + 16)

/* ---------- a memory sink the test owns, so its bytes outlive the chain ---------- */

struct mem {
	unsigned char *buf;
	size_t len, cap;
	int closed;
};

static int mem_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct mem *m = w->state;

	if (m->len + n > m->cap) {
		size_t cap = (m->len + n) * 2;
		unsigned char *nb = realloc(m->buf, cap);
		if (!nb)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, buf, n);
	m->len += n;
	return 0;
}

static int mem_close(struct ado_writer *w, struct ado_err *e)
{
	((struct mem *)w->state)->closed = 1;
	return 0;
}

static const struct ado_writer_ops mem_ops = {
	.name = "test-mem",
	.write = mem_write,
	.close = mem_close,
};

static void mem_reset(struct mem *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* Push data through w in pieces of step bytes (0 = all at once), then close. */
static int feed(struct ado_writer *w, const unsigned char *data, size_t n, size_t step, struct ado_err *e)
{
	size_t off = 0;

	while (off < n) {
		size_t take = step && step < n - off ? step : n - off;
		if (ado_writer_write(w, data + off, take, e) < 0)
			return -1;
		off += take;
	}
	return ado_writer_close(w, e);
}

static int encrypt_to(struct mem *out, const unsigned char master[ADO_KEY_LEN], const struct ado_kdf *kdf,
		      const char *bid, const char *art, const unsigned char *data, size_t n, size_t step)
{
	struct ado_err e;
	struct ado_writer *w;
	int rc;

	mem_reset(out);
	w = ado_encrypt_writer_new(ado_writer_new(&mem_ops, out, NULL), master, kdf, bid, art, &e);
	if (!w)
		return -1;
	rc = feed(w, data, n, step, &e);
	ado_writer_free(w);
	return rc;
}

/* Decrypt; plaintext that came out goes to out; the error to e. */
static int decrypt_to(struct mem *out, struct ado_keyring *k, const char *bid, const char *art,
		      const unsigned char *data, size_t n, size_t step, struct ado_err *e)
{
	struct ado_writer *w;
	int rc;

	mem_reset(out);
	ado_err_clear(e);
	w = ado_decrypt_writer_new(ado_writer_new(&mem_ops, out, NULL), k, bid, art, e);
	if (!w)
		return -1;
	rc = feed(w, data, n, step, e);
	ado_writer_free(w);
	return rc;
}

static char tmpdir[] = "/tmp/t-crypt.XXXXXX";

static const char *tpath(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void put_file(const char *name, const void *data, size_t n, mode_t mode)
{
	int fd;

	unlink(tpath(name));
	fd = open(tpath(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(name);
		exit(99);
	}
	close(fd);
	chmod(tpath(name), mode);
}

/* The decryption sketch of ado-format.5 (EXAMPLES), kept byte for byte the same. */
static const char python_decrypt[] =
	"import os, struct, sys\n"
	"from cryptography.hazmat.primitives import hashes\n"
	"from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
	"from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
	"from cryptography.hazmat.primitives.kdf.scrypt import Scrypt\n"
	"\n"
	"key_file, backup_id, name = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()\n"
	"inp, out = sys.stdin.buffer, sys.stdout.buffer\n"
	"h = inp.read(64)\n"
	"if len(h) != 64 or h[:8] != b\"ADODRENC\" or h[8] != 1:\n"
	"    sys.exit(\"not an ado-dr format 1 artifact\")\n"
	"kind, log2n, r, p = h[9], h[10], h[11], h[12]\n"
	"(chunk,) = struct.unpack(\">I\", h[16:20])\n"
	"if kind == 0:\n"
	"    raw = open(key_file, \"rb\").read()\n"
	"    master = raw if len(raw) == 32 else bytes.fromhex(raw.decode())\n"
	"else:\n"
	"    pw = os.environb[b\"ADO_PASSPHRASE\"]\n"
	"    master = Scrypt(salt=h[20:36], length=32, n=1 << log2n, r=r, p=p).derive(pw)\n"
	"\n"
	"def hkdf(info):\n"
	"    return HKDF(algorithm=hashes.SHA256(), length=32, salt=h[36:52], info=info).derive(master)\n"
	"\n"
	"if hkdf(b\"ado-dr v1 check\")[:8] != h[52:60]:\n"
	"    sys.exit(\"wrong key\")\n"
	"gcm = AESGCM(hkdf(b\"ado-dr v1 data\"))\n"
	"aad = h + struct.pack(\">I\", len(backup_id)) + backup_id + struct.pack(\">I\", len(name)) + name\n"
	"i, sealed = 0, inp.read(chunk + 16)\n"
	"while True:\n"
	"    after = inp.read(chunk + 16)\n"
	"    final = 0 if after else 1\n"
	"    nonce = struct.pack(\">IQ\", 0, i)\n"
	"    out.write(gcm.decrypt(nonce, sealed, aad + struct.pack(\">QB\", i, final)))\n"
	"    if final:\n"
	"        break\n"
	"    i, sealed = i + 1, after\n";

static const char *python_with_cryptography(void)
{
	/* Debian's python3-cryptography lives under /usr/bin/python3; a pyenv
	 * python3 earlier on PATH may lack it */
	if (system("/usr/bin/python3 -c 'import cryptography' >/dev/null 2>&1") == 0)
		return "/usr/bin/python3";
	if (system("python3 -c 'import cryptography' >/dev/null 2>&1") == 0)
		return "python3";
	return NULL;
}

static char py_err[4096];	/* the script's stderr, for the failure cases */

static int run_python(const char *py, const char *keyfile, const char *bid, const char *art, struct mem *plain)
{
	char cmd[2048];
	ssize_t got;
	struct stat st;
	int rc, fd;

	snprintf(cmd, sizeof(cmd), "%s '%s' '%s' '%s' '%s' < '%s' > '%s' 2>'%s'", py, tpath("dec.py"), keyfile,
		 bid, art, tpath("art.enc"), tpath("py.out"), tpath("py.err"));
	rc = system(cmd);
	mem_reset(plain);
	if ((fd = open(tpath("py.out"), O_RDONLY)) >= 0 && fstat(fd, &st) == 0) {
		plain->buf = malloc((size_t)st.st_size + 1);
		plain->len = (size_t)read(fd, plain->buf, (size_t)st.st_size);
		close(fd);
	}
	py_err[0] = '\0';
	if ((fd = open(tpath("py.err"), O_RDONLY)) >= 0) {
		got = read(fd, py_err, sizeof(py_err) - 1);
		py_err[got > 0 ? got : 0] = '\0';
		close(fd);
	}
	return rc;
}

static int same(const struct mem *m, const unsigned char *data, size_t n)
{
	return m->len == n && (n == 0 || memcmp(m->buf, data, n) == 0);
}

static size_t sealed_size(size_t n)
{
	return ADO_CRYPT_HEADER_LEN + n + 16 * (n / CH + 1);
}

int main(void)
{
	static const struct ado_kdf raw_kdf = { 0 };
	struct ado_keyring *k = NULL, *k2 = NULL, *kp = NULL;
	struct ado_kdf kdf, pkdf;
	struct ado_err e;
	struct mem enc = { 0 }, dec = { 0 }, plain = { 0 };
	unsigned char master[ADO_KEY_LEN], master2[ADO_KEY_LEN], other[ADO_KEY_LEN], m3[ADO_KEY_LEN];
	unsigned char *data, *bad;
	size_t big = 3 * (size_t)CH + 5;
	char id[ADO_KEYID_LEN + 1], id2[ADO_KEYID_LEN + 1], mac[65], mac2[65], buf[256];
	const char *py;
	int rc;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	unsetenv("ADO_KEY_FILE");
	unsetenv("ADO_PASSPHRASE");
	data = malloc(big);
	bad = malloc(sealed_size(big) + 16);
	ado_random(data, big, &e);
	ado_random(master, sizeof(master), &e);
	ado_random(other, sizeof(other), &e);

	/* ---- key files ---- */
	put_file("raw.key", master, 32, 0600);
	rc = ado_keyring_from_file(tpath("raw.key"), &k, &e);
	is_int(rc, 0, "raw 32-byte key file with mode 0600 accepted");
	ado_keyring_free(k);
	k = NULL;

	put_file("open.key", master, 32, 0644);
	rc = ado_keyring_from_file(tpath("open.key"), &k, &e);
	is_int(rc, -1, "key file with mode 0644 refused");
	ok(k == NULL, "no keyring returned on refusal");
	is_int(e.kind, ADO_E_CONFIG, "mode refusal is a configuration error");
	snprintf(buf, sizeof(buf), "key file '%s' is readable by group or others (mode 0644)", tpath("open.key"));
	is_str(e.msg, buf, "mode refusal names the file and its mode");
	snprintf(buf, sizeof(buf), "chmod 600 '%s'", tpath("open.key"));
	is_str(e.hint, buf, "mode refusal hints the chmod");

	put_file("group.key", master, 32, 0640);
	rc = ado_keyring_from_file(tpath("group.key"), &k, &e);
	ok(rc == -1 && e.kind == ADO_E_CONFIG, "key file with mode 0640 refused too");

	put_file("short.key", master, 31, 0600);
	rc = ado_keyring_from_file(tpath("short.key"), &k, &e);
	is_int(rc, -1, "31-byte key file refused");
	is_int(e.kind, ADO_E_CONFIG, "31-byte key file is a configuration error");
	snprintf(buf, sizeof(buf), "key file '%s' must hold 32 raw bytes or 64 hex digits, found 31 bytes",
		 tpath("short.key"));
	is_str(e.msg, buf, "31-byte key file message says what is expected and found");
	like(e.hint, "head -c 32 /dev/urandom", "31-byte key file hint says how to make a key");

	{
		char hex[70];
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", master[i]);
		put_file("hex.key", hex, 64, 0600);
		rc = ado_keyring_from_file(tpath("hex.key"), &k, &e);
		is_int(rc, 0, "hex key file (no newline) accepted");
		ado_keyring_free(k);
		memcpy(hex + 64, "\n", 2);
		put_file("hexnl.key", hex, 65, 0600);
		rc = ado_keyring_from_file(tpath("hexnl.key"), &k, &e);
		is_int(rc, 0, "hex key file with newline accepted");
		ado_keyring_free(k);
		for (int i = 0; i < 64; i++)	/* upper case must work too */
			if (hex[i] >= 'a')
				hex[i] = (char)(hex[i] - 'a' + 'A');
		memcpy(hex + 64, "\r\n", 3);
		put_file("hexcrlf.key", hex, 66, 0600);
		rc = ado_keyring_from_file(tpath("hexcrlf.key"), &k, &e);
		is_int(rc, 0, "upper-case hex key file with CRLF accepted");
		/* the hex key is the raw key: what one encrypts the other decrypts */
		encrypt_to(&enc, master, &raw_kdf, "b1", "a1", data, 1000, 0);
		rc = decrypt_to(&dec, k, "b1", "a1", enc.buf, enc.len, 0, &e);
		ok(rc == 0 && same(&dec, data, 1000), "hex key file decrypts what the raw key encrypted");
		ado_keyring_free(k);
		k = NULL;

		hex[10] = 'g';
		put_file("badhex.key", hex, 64, 0600);
		rc = ado_keyring_from_file(tpath("badhex.key"), &k, &e);
		ok(rc == -1 && e.kind == ADO_E_CONFIG, "64 bytes with a non-hex digit refused");
		like(e.msg, "non-hex character at offset 10", "non-hex message names the offset only");
		put_file("hex2nl.key", "0000000000000000000000000000000000000000000000000000000000000000\n\n",
			 66, 0600);
		rc = ado_keyring_from_file(tpath("hex2nl.key"), &k, &e);
		ok(rc == -1 && e.kind == ADO_E_CONFIG, "hex key followed by two newlines refused");
	}

	rc = ado_keyring_from_file(tpath("missing.key"), &k, &e);
	is_int(rc, -1, "missing key file refused");
	ok(e.kind == ADO_E_CONFIG && e.sys_errno == ENOENT, "missing key file: ADO_E_CONFIG with ENOENT");
	snprintf(buf, sizeof(buf), "cannot open key file '%s'", tpath("missing.key"));
	is_str(e.msg, buf, "missing key file message names it");

	chmod(tmpdir, 0700);
	rc = ado_keyring_from_file(tmpdir, &k, &e);
	ok(rc == -1 && e.kind == ADO_E_CONFIG, "directory as key file refused");
	like(e.msg, "is not a regular file", "directory refusal says why");

	/* ---- keyring from config / environment ---- */
	rc = ado_keyring_from_config(NULL, &k, &e);
	is_int(rc, -1, "no key configured refused");
	is_int(e.kind, ADO_E_CONFIG, "no key configured is a configuration error");
	is_str(e.msg, "no encryption key configured", "no key configured message");
	ok(strstr(e.hint, "key_file") && strstr(e.hint, "ADO_KEY_FILE") && strstr(e.hint, "ADO_PASSPHRASE"),
	   "no key configured hint names key_file, ADO_KEY_FILE and ADO_PASSPHRASE");
	{
		struct ado_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.key_file = (char *)tpath("raw.key");
		rc = ado_keyring_from_config(&cfg, &k, &e);
		is_int(rc, 0, "key_file from the config used");
		ado_keyring_free(k);
		setenv("ADO_KEY_FILE", tpath("open.key"), 1);
		rc = ado_keyring_from_config(&cfg, &k, &e);
		ok(rc == -1 && strstr(e.msg, "open.key"), "ADO_KEY_FILE overrides the config's key_file");
		unsetenv("ADO_KEY_FILE");
		cfg.key_file = NULL;
		cfg.passphrase_env = (char *)"T_CRYPT_PASS";
		unsetenv("T_CRYPT_PASS");
		rc = ado_keyring_from_config(&cfg, &k, &e);
		ok(rc == -1 && e.kind == ADO_E_CONFIG, "unset passphrase_env variable refused");
		like(e.msg, "'T_CRYPT_PASS'", "unset passphrase variable is named");
		setenv("T_CRYPT_PASS", "correct horse battery staple", 1);
		rc = ado_keyring_from_config(&cfg, &k, &e);
		is_int(rc, 0, "passphrase from passphrase_env used");
		ado_log_redact_copy(buf, sizeof(buf), "pass=correct horse battery staple");
		is_str(buf, "pass=<redacted>", "passphrase registered for redaction");
		ado_keyring_free(k);
		k = NULL;
	}
	rc = ado_keyring_from_passphrase("", &k, &e);
	ok(rc == -1 && e.kind == ADO_E_CONFIG && strcmp(e.msg, "empty passphrase") == 0, "empty passphrase refused");

	/* ---- key id and manifest mac ---- */
	{
		unsigned char seq[ADO_KEY_LEN];
		for (int i = 0; i < ADO_KEY_LEN; i++)
			seq[i] = (unsigned char)i;
		ado_key_id(seq, id);
		/* known answer from python3 hashlib: sha256(b"ado-dr key id v1" + bytes(range(32))) */
		is_str(id, "f8745a71a4996059", "key id known answer");
		ado_key_id(master, id);
		ado_key_id(master, id2);
		ok(strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16, "key id is 16 lower-case hex digits");
		is_str(id, id2, "key id is stable");
		ado_key_id(other, id2);
		ok(strcmp(id, id2) != 0, "another key has another id");

		static const char body[] = "{\"backup_id\":\"x\"}\n";
		rc = ado_manifest_mac(seq, body, strlen(body), mac, &e);
		is_int(rc, 0, "manifest mac computed");
		/* known answer from python3 hmac + cryptography HKDF(salt=None) */
		is_str(mac, "3c0b4b0577d85237cf5a274e09657eceaa148cae5382e872ec5f025bcefab46d",
		       "manifest mac known answer");
		ado_manifest_mac(seq, body, strlen(body), mac2, &e);
		is_str(mac, mac2, "manifest mac: same input, same output");
		ado_manifest_mac(master, body, strlen(body), mac2, &e);
		ok(strcmp(mac, mac2) != 0, "manifest mac: another key differs");
		ado_manifest_mac(seq, body, strlen(body) - 1, mac2, &e);
		ok(strcmp(mac, mac2) != 0, "manifest mac: another body differs");
	}

	/* ---- round trips ---- */
	put_file("raw.key", master, 32, 0600);
	ado_keyring_from_file(tpath("raw.key"), &k, &e);
	{
		const size_t sizes[] = { 0, 1, CH - 1, CH, CH + 1, 3 * (size_t)CH + 5 };
		const size_t esteps[] = { 0, 7, 65537, 1, 0, 333333 };
		const size_t dsteps[] = { 1, 0, 4099, 65536, 1048593, 999999 };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			/* 1-byte writes only where the data is small enough to stay quick */
			size_t es = esteps[i] == 1 && n > 4096 ? 13 : esteps[i];
			size_t ds = dsteps[i] == 1 && n > 4096 ? 17 : dsteps[i];
			rc = encrypt_to(&enc, master, &raw_kdf, "20250101T000000Z-job", "files-etc.tar.zst", data, n, es);
			ok(rc == 0 && enc.closed, "encrypt %zu bytes (writes of %zu)", n, es);
			is_int(enc.len, sealed_size(n), "encrypted size of %zu bytes is header + data + a tag per chunk", n);
			ok(enc.len >= 8 && memcmp(enc.buf, "ADODRENC", 8) == 0, "artifact of %zu bytes starts with the magic",
			   n);
			rc = decrypt_to(&dec, k, "20250101T000000Z-job", "files-etc.tar.zst", enc.buf, enc.len, ds, &e);
			ok(rc == 0 && dec.closed && same(&dec, data, n), "decrypt %zu bytes (writes of %zu) round trip", n,
			   ds);
			if (rc)
				printf("# %s\n", e.msg);
		}
	}
	/* the artifact salt is fresh each time: same input, different bytes */
	encrypt_to(&enc, master, &raw_kdf, "b", "a", data, 100, 0);
	memcpy(bad, enc.buf, enc.len);
	encrypt_to(&enc, master, &raw_kdf, "b", "a", data, 100, 0);
	ok(memcmp(bad, enc.buf, enc.len) != 0, "two encryptions of the same data differ");

	/* ---- tampering (on 3 chunks + 5 bytes) ---- */
	encrypt_to(&enc, master, &raw_kdf, "B1", "db-main.dump", data, big, 0);

	ado_random(m3, sizeof(m3), &e);
	put_file("wrong.key", m3, 32, 0600);
	ado_keyring_from_file(tpath("wrong.key"), &k2, &e);
	rc = decrypt_to(&dec, k2, "B1", "db-main.dump", enc.buf, enc.len, 0, &e);
	is_int(rc, -1, "wrong key refused");
	is_int(e.kind, ADO_E_WRONGKEY, "wrong key: ADO_E_WRONGKEY");
	is_str(e.msg, "wrong key: 'db-main.dump' was encrypted with another key", "wrong key message");
	like(e.hint, "use the key whose id is in the manifest (key_id)", "wrong key hint");
	ado_key_id(m3, id);
	like(e.hint, id, "wrong key hint names the configured key's id");
	ok(dec.len == 0 && !dec.closed, "wrong key: nothing passed on, sink not closed");

#define TAMPER(off, expr) do { memcpy(bad, enc.buf, enc.len); bad[(off)] ^= (expr); } while (0)
	TAMPER(0, 0x01);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "flipped magic: ADO_E_FORMAT");
	is_str(e.msg, "cannot decrypt 'db-main.dump': not an ado-dr encrypted artifact", "flipped magic message");
	TAMPER(8, 0x02);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "flipped version: ADO_E_FORMAT");
	like(e.msg, "unsupported format version 3", "flipped version message");
	TAMPER(40, 0x80);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_WRONGKEY, "flipped artifact salt: key check fails (ADO_E_WRONGKEY)");
	TAMPER(17, 0x01);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT && strstr(e.msg, "unsupported chunk size"), "flipped chunk size: ADO_E_FORMAT");
	TAMPER(62, 0x01);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT && strstr(e.msg, "reserved"), "flipped reserved byte: ADO_E_FORMAT");
	TAMPER(25, 0x01);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "scrypt salt on a raw-key artifact: ADO_E_FORMAT");

	TAMPER(ADO_CRYPT_HEADER_LEN + 100, 0x01);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	is_int(rc, -1, "flipped byte in chunk 0 refused");
	is_int(e.kind, ADO_E_AUTH, "flipped byte in chunk 0: ADO_E_AUTH");
	is_str(e.msg, "authentication failed for 'db-main.dump' at chunk 0 (offset 64): data corrupted, "
	       "truncated, reordered or from another backup", "flipped byte in chunk 0 message");
	ok(dec.len == 0 && !dec.closed, "flipped chunk 0: nothing passed on, sink not closed");

	TAMPER(enc.len - 1, 0x40);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 7777, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "flipped byte in the last tag: ADO_E_AUTH");
	snprintf(buf, sizeof(buf), "at chunk 3 (offset %zu)", ADO_CRYPT_HEADER_LEN + 3 * SEALED);
	like(e.msg, buf, "flipped last tag names chunk 3 and its offset");
	ok(same(&dec, data, 3 * (size_t)CH) && !dec.closed,
	   "flipped last tag: only the 3 authenticated chunks passed on, sink not closed");

	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, ADO_CRYPT_HEADER_LEN + 2 * SEALED, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "truncated at a chunk boundary: ADO_E_AUTH");
	like(e.msg, "at chunk 1 ", "truncated at a chunk boundary: the last chunk present fails");
	ok(!dec.closed, "truncated: sink not closed");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, ADO_CRYPT_HEADER_LEN + SEALED + 1000, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "truncated mid-chunk: ADO_E_AUTH");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, ADO_CRYPT_HEADER_LEN + 5, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH && strstr(e.msg, "truncated at chunk 0"),
	   "truncated inside the first tag: ADO_E_AUTH truncated");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, ADO_CRYPT_HEADER_LEN, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH && strstr(e.msg, "truncated"), "header only: ADO_E_AUTH truncated");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, 30, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "truncated inside the header: ADO_E_FORMAT");
	is_str(e.msg, "cannot decrypt 'db-main.dump': truncated header (30 of 64 bytes)", "truncated header message");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, 0, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT && strstr(e.msg, "not an ado-dr encrypted artifact"),
	   "empty stream: ADO_E_FORMAT");

	memcpy(bad, enc.buf, enc.len);
	bad[enc.len] = 0;
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len + 1, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "one extra byte at the end: ADO_E_AUTH");

	memcpy(bad, enc.buf, ADO_CRYPT_HEADER_LEN);
	memcpy(bad + ADO_CRYPT_HEADER_LEN, enc.buf + ADO_CRYPT_HEADER_LEN + SEALED, SEALED);
	memcpy(bad + ADO_CRYPT_HEADER_LEN + SEALED, enc.buf + ADO_CRYPT_HEADER_LEN, SEALED);
	memcpy(bad + ADO_CRYPT_HEADER_LEN + 2 * SEALED, enc.buf + ADO_CRYPT_HEADER_LEN + 2 * SEALED,
	       enc.len - ADO_CRYPT_HEADER_LEN - 2 * SEALED);
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", bad, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH && strstr(e.msg, "at chunk 0 "), "chunks 0 and 1 swapped: ADO_E_AUTH at chunk 0");
	ok(dec.len == 0, "swapped chunks: nothing passed on");

	rc = decrypt_to(&dec, k, "B2", "db-main.dump", enc.buf, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "another backup id: ADO_E_AUTH");
	rc = decrypt_to(&dec, k, "B1", "db-other.dump", enc.buf, enc.len, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "another artifact name: ADO_E_AUTH");
	like(e.msg, "'db-other.dump'", "auth failure names the artifact");
	rc = decrypt_to(&dec, k, "B1", "db-main.dump", enc.buf, enc.len, 0, &e);
	ok(rc == 0 && same(&dec, data, big), "the untouched artifact still decrypts");

	/* exact multiple of the chunk: the empty final chunk is required */
	encrypt_to(&enc, master, &raw_kdf, "B1", "x", data, 2 * (size_t)CH, 0);
	rc = decrypt_to(&dec, k, "B1", "x", enc.buf, enc.len - 16, 0, &e);
	ok(rc == -1 && e.kind == ADO_E_AUTH, "missing empty final chunk: ADO_E_AUTH");
	rc = decrypt_to(&dec, k, "B1", "x", enc.buf, enc.len, 0, &e);
	ok(rc == 0 && same(&dec, data, 2 * (size_t)CH), "with the empty final chunk it decrypts");

	/* ---- header parse ---- */
	rc = ado_crypt_header_parse(enc.buf, enc.len, &kdf, &e);
	ok(rc == 0 && kdf.kind == 0 && kdf.log2n == 0, "header of a raw-key artifact parses");
	memcpy(bad, enc.buf, 64);
	bad[9] = 2;
	rc = ado_crypt_header_parse(bad, 64, &kdf, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT && strstr(e.msg, "key derivation kind 2"), "unknown kdf kind refused");
	bad[9] = 1;
	bad[10] = 30;
	bad[11] = 8;
	bad[12] = 1;
	rc = ado_crypt_header_parse(bad, 64, &kdf, &e);
	ok(rc == -1 && e.kind == ADO_E_UNSUPPORTED && strstr(e.msg, "memory limit"), "scrypt beyond the memory cap refused");
	bad[10] = 10;
	rc = ado_crypt_header_parse(bad, 64, &kdf, &e);
	ok(rc == 0 && kdf.kind == 1 && kdf.log2n == 10 && kdf.r == 8 && kdf.p == 1, "scrypt header parses");
	bad[11] = 0;
	rc = ado_crypt_header_parse(bad, 64, &kdf, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "scrypt r = 0 refused");
	rc = ado_crypt_header_parse(enc.buf, 63, &kdf, &e);
	ok(rc == -1 && e.kind == ADO_E_FORMAT, "63-byte header refused");

	/* ---- passphrases ---- */
	rc = ado_keyring_from_passphrase("t-crypt passphrase", &kp, &e);
	is_int(rc, 0, "passphrase keyring");
	memset(&pkdf, 0, sizeof(pkdf));
	pkdf.kind = 1;
	pkdf.log2n = 10;
	pkdf.r = 8;
	pkdf.p = 1;
	ado_random(pkdf.salt, sizeof(pkdf.salt), &e);
	rc = ado_keyring_master(kp, &pkdf, master2, &e);
	is_int(rc, 0, "scrypt master derived (log2 N = 10)");
	rc = ado_keyring_master(kp, &pkdf, m3, &e);
	ok(rc == 0 && memcmp(master2, m3, 32) == 0, "same salt, same master (cached)");
	pkdf.salt[0] ^= 1;
	ado_keyring_master(kp, &pkdf, m3, &e);
	ok(memcmp(master2, m3, 32) != 0, "another salt, another master");
	pkdf.salt[0] ^= 1;
	rc = encrypt_to(&enc, master2, &pkdf, "B1", "p.tar", data, CH + 3, 4097);
	ok(rc == 0, "encrypt with a passphrase master");
	rc = decrypt_to(&dec, kp, "B1", "p.tar", enc.buf, enc.len, 0, &e);
	ok(rc == 0 && same(&dec, data, CH + 3), "passphrase round trip");
	{
		struct ado_keyring *wrongp = NULL;
		ado_keyring_from_passphrase("not the passphrase", &wrongp, &e);
		rc = decrypt_to(&dec, wrongp, "B1", "p.tar", enc.buf, enc.len, 0, &e);
		ok(rc == -1 && e.kind == ADO_E_WRONGKEY, "wrong passphrase: ADO_E_WRONGKEY");
		rc = decrypt_to(&dec, k, "B1", "p.tar", enc.buf, enc.len, 0, &e);
		ok(rc == -1 && e.kind == ADO_E_WRONGKEY && strstr(e.msg, "encrypted with a passphrase"),
		   "key file on a passphrase artifact: ADO_E_WRONGKEY saying so");
		encrypt_to(&plain, master, &raw_kdf, "B1", "r.tar", data, 10, 0);
		rc = decrypt_to(&dec, wrongp, "B1", "r.tar", plain.buf, plain.len, 0, &e);
		ok(rc == -1 && e.kind == ADO_E_WRONGKEY && strstr(e.msg, "encrypted with a key file"),
		   "passphrase on a key-file artifact: ADO_E_WRONGKEY saying so");
		ado_keyring_free(wrongp);
	}
	{
		struct ado_kdf badkdf = { .kind = 0, .log2n = 3 };
		struct ado_writer *w = ado_encrypt_writer_new(NULL, master, &badkdf, "b", "a", &e);
		ok(w == NULL && e.kind == ADO_E_FORMAT, "encrypt writer refuses raw kdf with scrypt parameters");
	}

	/* default parameters: one real derivation */
	rc = ado_keyring_new_kdf(kp, &kdf, &e);
	ok(rc == 0 && kdf.kind == 1 && kdf.log2n == 17 && kdf.r == 8 && kdf.p == 1, "default scrypt parameters 2^17, 8, 1");
	ok(memcmp(kdf.salt, (unsigned char[16]){ 0 }, 16) != 0, "fresh scrypt salt");
	rc = ado_keyring_master(kp, &kdf, m3, &e);
	is_int(rc, 0, "scrypt with default parameters derives");
	rc = ado_keyring_new_kdf(k, &kdf, &e);
	ok(rc == 0 && kdf.kind == 0 && kdf.log2n == 0, "a key file keyring gets a raw kdf");
	rc = ado_keyring_master(k, &kdf, m3, &e);
	ok(rc == 0 && memcmp(m3, master, 32) == 0, "raw master is the key file");

	/* ---- interoperability: the man page's Python decrypts ours ---- */
	py = python_with_cryptography();
	if (!py) {
		for (int i = 0; i < 6; i++)
			printf("ok %d # skip python3 with the cryptography module not found\n", ++tap_n);
	} else {
		put_file("dec.py", python_decrypt, strlen(python_decrypt), 0600);
		encrypt_to(&enc, master, &raw_kdf, "20250101T000000Z-nightly", "files-etc.tar.zst", data, big, 0);
		put_file("art.enc", enc.buf, enc.len, 0600);
		rc = run_python(py, tpath("raw.key"), "20250101T000000Z-nightly", "files-etc.tar.zst", &plain);
		ok(rc == 0 && same(&plain, data, big), "python3 (%s) decrypts a raw-key artifact of 3 chunks + 5 bytes", py);
		rc = run_python(py, tpath("hex.key"), "20250101T000000Z-nightly", "other.tar.zst", &plain);
		ok(rc != 0, "python3 refuses it under another artifact name");
		like(py_err, "InvalidTag", "python3's refusal is the GCM tag check");
		encrypt_to(&enc, master2, &pkdf, "B1", "p.tar", data, 2 * (size_t)CH, 0);
		put_file("art.enc", enc.buf, enc.len, 0600);
		setenv("ADO_PASSPHRASE", "t-crypt passphrase", 1);
		rc = run_python(py, "-", "B1", "p.tar", &plain);
		ok(rc == 0 && same(&plain, data, 2 * (size_t)CH), "python3 decrypts a passphrase artifact (2 full chunks)");
		setenv("ADO_PASSPHRASE", "not it", 1);
		rc = run_python(py, "-", "B1", "p.tar", &plain);
		ok(rc != 0, "python3 with the wrong passphrase fails");
		like(py_err, "wrong key", "python3's refusal is the key check value");
		unsetenv("ADO_PASSPHRASE");
	}

	mem_reset(&enc);
	mem_reset(&dec);
	mem_reset(&plain);
	ado_keyring_free(k);
	ado_keyring_free(k2);
	ado_keyring_free(kp);
	ado_log_redact_clear();
	free(data);
	free(bad);
	OPENSSL_cleanse(master, sizeof(master));
	snprintf(buf, sizeof(buf), "rm -rf '%s'", tmpdir);
	if (system(buf) != 0)
		printf("# could not remove %s\n", tmpdir);
	return done_testing();
}
