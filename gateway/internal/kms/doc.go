// Package kms is the pure logic of Coffer's built-in key management service (DESIGN.md
// 6.2): the key material of a customer master key (CMK), its seal under the root key,
// the ciphertext blobs the KMS hands out (encrypt, decrypt, generate data key) with the
// encryption context bound as additional data, the RSA-OAEP import of external key
// material, and a small TTL cache of unsealed material. The gateway keeps the CMK
// records in the metadata cluster and does all I/O; nothing here reads the clock,
// global randomness or the network.
//
// # Material (plaintext, only ever in gateway memory)
//
//	"CFKM" ‖ 0x01 ‖ u32be(n) ‖ n × 32-byte key (version i+1 is the i-th) ‖
//	flag (0x00 none, 0x01 pending import) ‖
//	[token (16) ‖ i64be(expires, unix ns) ‖ u32be(len) ‖ PKCS#8 DER of the RSA key]
//
// A COFFER key starts with one version; Rotate appends one. An EXTERNAL key starts with
// none and a pending import; ImportMaterial appends the unwrapped version and clears it.
//
// # Sealed material (what the CMK record stores, in Raft)
//
//	"CFKS" ‖ 0x01 ‖ salt (16) ‖ nonce (12) ‖ AES-256-GCM(HKDF-SHA256(root, salt,
//	"coffer kms material v1"), aad = "coffer cmk v1\x00" ‖ cmk id, material) ‖ tag (16)
//
// so a sealed material cannot be moved to another CMK record.
//
// # Ciphertext blob (Encrypt, GenerateDataKey)
//
//	header = "CFKC" ‖ 0x01 ‖ u32be(material version) ‖ salt (16) ‖ nonce (12)
//	blob   = header ‖ AES-256-GCM(HKDF-SHA256(material[v], salt, "coffer kms data v1"),
//	                              aad = header ‖ str(cmk id) ‖ sse.AppendContext(ctx),
//	                              plaintext) ‖ tag (16)
//
// with str(s) = u32be(len(s)) ‖ s. The per-blob salt keeps the number of encryptions
// under one derived key at one, so random nonces never approach the GCM bound. Old
// material versions stay in the material, so blobs made before a rotation still open.
//
// # Concurrency
//
// Everything is a pure function of its arguments except Cache, which is safe for
// concurrent use. Material values are not shared: callers copy before changing one.
package kms
