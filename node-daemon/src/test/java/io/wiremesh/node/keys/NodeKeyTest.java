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
}
