package io.wiremesh.node.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's ML-KEM-768 key pair on disk, and a secret carried to it. */
class KemKeyTest {
    @TempDir
    Path dir;

    @Test
    void madeOnceKeptPrivateAndReloaded() throws Exception {
        KemKey first = KemKey.loadOrCreate(dir);
        Path file = dir.resolve(KemKey.FILE);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Base64.getDecoder().decode(first.publicKeyBase64())).hasSize(1206); // FIPS 203 ek (1,184) in SubjectPublicKeyInfo
        assertThat(KemKey.loadOrCreate(dir).publicKeyBase64()).as("a restart keeps the key").isEqualTo(first.publicKeyBase64());
        assertThat(first.toString()).doesNotContain(first.publicKeyBase64().substring(0, 20));
    }

    @Test
    void aSecretEncapsulatedToThePublishedKeyIsRecoveredOnlyByItsHolder() throws Exception {
        KemKey node = KemKey.loadOrCreate(dir);
        KemKey.Encapsulated e = KemKey.encapsulate(node.publicKeyBase64());
        assertThat(e.secret()).hasSize(32);
        assertThat(e.ciphertext()).hasSize(1088);
        assertThat(node.decapsulate(e.ciphertext())).isEqualTo(e.secret());
        KemKey other = KemKey.loadOrCreate(Files.createDirectory(dir.resolve("other")));
        assertThat(other.decapsulate(e.ciphertext())).as("implicit rejection: another key yields another secret").isNotEqualTo(e.secret());
    }

    @Test
    void anUnreadableKeyFileIsReplacedByANewKey() throws Exception {
        String before = KemKey.loadOrCreate(dir).publicKeyBase64();
        Files.writeString(dir.resolve(KemKey.FILE), "not a key\n");
        String after = KemKey.loadOrCreate(dir).publicKeyBase64();
        assertThat(after).isNotEqualTo(before);
        assertThat(KemKey.loadOrCreate(dir).publicKeyBase64()).isEqualTo(after);
    }
}
