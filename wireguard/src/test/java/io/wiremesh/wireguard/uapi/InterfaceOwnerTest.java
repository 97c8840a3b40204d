package io.wiremesh.wireguard.uapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InterfaceOwnerTest {
    @TempDir
    Path dir;

    @Test
    void nothingRecordedIsEmpty() throws IOException {
        assertThat(InterfaceOwner.read(dir, "wiremesh0")).isEmpty();
    }

    @Test
    void recordsOneWordAndReplacesIt() throws IOException {
        Path sub = dir.resolve("run/wireguard");
        InterfaceOwner.KERNEL.record(sub, "wiremesh0");
        assertThat(Files.readString(sub.resolve("wiremesh0.owner"))).isEqualTo("kernel\n");
        assertThat(InterfaceOwner.read(sub, "wiremesh0")).contains(InterfaceOwner.KERNEL);
        InterfaceOwner.USERSPACE.record(sub, "wiremesh0");
        assertThat(InterfaceOwner.read(sub, "wiremesh0")).contains(InterfaceOwner.USERSPACE);
        assertThat(InterfaceOwner.read(sub, "wiremesh1")).isEmpty();
        InterfaceOwner.forget(sub, "wiremesh1"); // nothing to forget: fine
        InterfaceOwner.forget(sub, "wiremesh0");
        assertThat(InterfaceOwner.read(sub, "wiremesh0")).isEmpty();
        InterfaceOwner.USERSPACE.record(sub, "wiremesh0");
        try (var files = Files.list(sub)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("wiremesh0.owner");
        }
    }

    @Test
    void anythingElseIsAnErrorThatSaysWhatHappens() throws IOException {
        Files.writeString(dir.resolve("wiremesh0.owner"), "boringtun\n");
        assertThatThrownBy(() -> InterfaceOwner.read(dir, "wiremesh0")).isInstanceOf(IOException.class)
                .hasMessageContaining("holds 'boringtun', not kernel or userspace");
    }
}
