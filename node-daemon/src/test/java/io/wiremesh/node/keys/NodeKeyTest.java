package io.wiremesh.node.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeKeyTest {
    @TempDir
    Path dir;

    @Test
    void generatedOnceKeptOwnerOnlyAndStableAcrossRestarts() throws Exception {
        NodeKey first = NodeKey.loadOrCreate(dir);
        Path f = dir.resolve(NodeKey.FILE);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        NodeKey again = NodeKey.loadOrCreate(dir);
        assertThat(again.publicKeyBase64()).isEqualTo(first.publicKeyBase64()).hasSize(44);
        assertThat(first.toString()).doesNotContain(Files.readString(f).trim());
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly(NodeKey.FILE); // no temp files left
        }
    }

    @Test
    void aRotationReplacesTheKeyOnDiskAndRecordsItsGeneration() throws Exception {
        NodeKey first = NodeKey.loadOrCreate(dir);
        assertThat(first.generation()).as("not known before the first record").isZero();
        assertThat(first.answering(4L)).as("a first start answers the generation asked now").isEqualTo(4);
        assertThat(first.answering(null)).isEqualTo(1);
        NodeKey.recordGeneration(dir, 1);
        assertThat(NodeKey.loadOrCreate(dir).generation()).isEqualTo(1);
        NodeKey second = NodeKey.rotate(dir, 2);
        assertThat(second.publicKeyBase64()).isNotEqualTo(first.publicKeyBase64());
        assertThat(second.generation()).isEqualTo(2);
        NodeKey reloaded = NodeKey.loadOrCreate(dir);
        assertThat(reloaded.publicKeyBase64()).isEqualTo(second.publicKeyBase64());
        assertThat(reloaded.generation()).isEqualTo(2);
        assertThat(reloaded.answering(7L)).as("a recorded generation stands").isEqualTo(2);
        assertThat(reloaded.created()).isBeforeOrEqualTo(java.time.Instant.now());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(NodeKey.FILE)))).isEqualTo("rw-------");
    }
}
