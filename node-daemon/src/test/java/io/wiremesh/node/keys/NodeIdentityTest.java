package io.wiremesh.node.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.identity.Proposal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's Ed25519 signing identity on disk, and the proposals it signs for the operator to verify. */
class NodeIdentityTest {
    private static final String NAME = "m.n1";
    private static final String NODE = "n1";
    private static final String WG = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    private static final String WG2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    private static final List<String> ENDPOINTS = List.of("198.18.0.1:51820");

    @TempDir
    Path dir;

    private static String mode(Path f) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(f));
    }

    private static List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The proposal {@code id} signed with {@code s}, as the operator rebuilds it from the status. */
    private static Proposal proposal(NodeIdentity id, NodeIdentity.Signed s, String wg, String kem, List<String> endpoints) {
        return new Proposal(NAME, NODE, s.generation(), id.publicKeyBase64(), wg, kem, endpoints);
    }

    @Test
    void madeOnFirstStartKeptOwnerOnlyAndReloadedIdenticalWithTheSameFingerprint() throws Exception {
        Path state = dir.resolve("state"); // not there yet on a node's first start
        NodeIdentity first = NodeIdentity.loadOrCreate(state);
        Path file = state.resolve(NodeIdentity.FILE);
        assertThat(file).exists();
        assertThat(mode(file)).isEqualTo("rw-------");
        assertThat(names(state)).as("no temp file left, no generation before the first proposal").containsExactly(NodeIdentity.FILE);
        assertThat(Base64.getDecoder().decode(first.publicKeyBase64())).hasSize(32);
        assertThat(first.fingerprint()).isEqualTo(Proposal.fingerprint(first.publicKeyBase64()));
        assertThat(Proposal.isFingerprint(first.fingerprint())).isTrue();
        byte[] onDisk = Files.readAllBytes(file);

        NodeIdentity again = NodeIdentity.loadOrCreate(state);
        assertThat(again.publicKeyBase64()).as("a restart keeps the identity").isEqualTo(first.publicKeyBase64());
        assertThat(again.fingerprint()).isEqualTo(first.fingerprint());
        assertThat(Files.readAllBytes(file)).as("a reload does not rewrite the file").isEqualTo(onDisk);
        assertThat(mode(file)).isEqualTo("rw-------");
        // The reloaded private key is the same one: what it signs verifies under the public key published before.
        NodeIdentity.Signed s = again.propose(NAME, NODE, 0, WG, null, ENDPOINTS);
        assertThat(proposal(first, s, WG, null, ENDPOINTS).verify(s.signature())).isTrue();

        String privateLine = Files.readString(file).lines().findFirst().orElseThrow();
        assertThat(first.toString()).contains(first.fingerprint()).doesNotContain(privateLine.substring(24)); // past the PKCS#8 header: the key
        assertThat(NodeIdentity.loadOrCreate(Files.createDirectory(dir.resolve("other"))).fingerprint())
                .as("another node, another identity").isNotEqualTo(first.fingerprint());
    }

    @Test
    void aCorruptIdentityIsRefusedWithAnIOExceptionAndNeverSilentlyReplaced() throws Exception {
        Path file = dir.resolve(NodeIdentity.FILE);
        NodeIdentity.loadOrCreate(dir);
        List<String> lines = Files.readAllLines(file);
        Path otherDir = Files.createDirectory(dir.resolve("other"));
        NodeIdentity.loadOrCreate(otherDir);
        List<String> otherLines = Files.readAllLines(otherDir.resolve(NodeIdentity.FILE));

        List<String> corrupt = new ArrayList<>(List.of(
                "not a key\n",                                                  // one line of garbage
                "",                                                             // empty (e.g. a disk that filled up)
                lines.get(0) + "\n",                                            // the public half lost
                "not base64!\n" + lines.get(1) + "\n",                          // a private key that is not base64
                lines.get(0).substring(0, 20) + "\n" + lines.get(1) + "\n",     // a truncated private key
                lines.get(0) + "\n" + "AAAA\n",                                 // a public key that is not 32 bytes
                lines.get(0) + "\n" + otherLines.get(1) + "\n",                 // halves of two identities
                otherLines.get(0) + "\n" + lines.get(1) + "\n",
                lines.get(0) + "\n" + lines.get(1) + "\n" + lines.get(1) + "\n")); // a line too many
        for (String content : corrupt) {
            Files.writeString(file, content);
            assertThatThrownBy(() -> NodeIdentity.loadOrCreate(dir)).as(content).isInstanceOf(IOException.class);
            assertThat(Files.readString(file)).as("left as it was: " + content).isEqualTo(content);
            assertThat(names(dir)).as("nothing made next to it").containsExactly(NodeIdentity.FILE, "other");
        }
        // Garbage in the key is named, with what to do: moving it away makes a new identity, which an admin approves.
        Files.writeString(file, "not base64!\n" + lines.get(1) + "\n");
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("wiremesh node approve");
        // Put back, it is the same identity as before.
        Files.write(file, lines);
        assertThat(NodeIdentity.loadOrCreate(dir).publicKeyBase64()).isEqualTo(lines.get(1));
    }

    @Test
    void proposalsVerifyAndOnlyForWhatWasSigned() throws Exception {
        NodeIdentity id = NodeIdentity.loadOrCreate(dir);
        String kem = Base64.getEncoder().encodeToString(new byte[1206]);
        NodeIdentity.Signed s = id.propose(NAME, NODE, 0, WG, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820"));
        assertThat(s.generation()).isEqualTo(1);
        assertThat(Base64.getDecoder().decode(s.signature())).hasSize(64);
        assertThat(proposal(id, s, WG, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820")).verify(s.signature())).isTrue();
        // Another key, endpoint, ML-KEM key, node or generation: not what the identity signed.
        assertThat(proposal(id, s, WG2, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820")).verify(s.signature())).isFalse();
        assertThat(proposal(id, s, WG, kem, List.of("203.0.113.9:51820", "[fd18::1]:51820")).verify(s.signature())).isFalse();
        assertThat(proposal(id, s, WG, null, List.of("198.18.0.1:51820", "[fd18::1]:51820")).verify(s.signature())).isFalse();
        assertThat(new Proposal("m.n2", "n2", s.generation(), id.publicKeyBase64(), WG, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820"))
                .verify(s.signature())).isFalse();
        assertThat(new Proposal(NAME, NODE, s.generation() + 1, id.publicKeyBase64(), WG, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820"))
                .verify(s.signature())).isFalse();
        // Nor under another identity's key: a node cannot sign for another.
        NodeIdentity other = NodeIdentity.loadOrCreate(Files.createDirectory(dir.resolve("other")));
        assertThat(new Proposal(NAME, NODE, s.generation(), other.publicKeyBase64(), WG, kem, List.of("198.18.0.1:51820", "[fd18::1]:51820"))
                .verify(s.signature())).isFalse();

        NodeIdentity.Signed withoutKem = id.propose(NAME, NODE, 0, WG, null, ENDPOINTS);
        assertThat(proposal(id, withoutKem, WG, null, ENDPOINTS).verify(withoutKem.signature())).as("no ML-KEM key").isTrue();
    }

    @Test
    void everyGenerationIsAboveTheAcceptedOneAndEveryEarlierOneAcrossAReload() throws Exception {
        NodeIdentity id = NodeIdentity.loadOrCreate(dir);
        Path generationFile = dir.resolve(NodeIdentity.GENERATION_FILE);
        long[] accepted = {0, 0, 10, 5, 11, 0, 40, 3};
        long last = 0;
        for (long a : accepted) {
            NodeIdentity.Signed s = id.propose(NAME, NODE, a, WG, null, ENDPOINTS);
            assertThat(s.generation()).as("accepted " + a + ", before " + last).isGreaterThan(a).isGreaterThan(last);
            assertThat(proposal(id, s, WG, null, ENDPOINTS).verify(s.signature())).isTrue();
            assertThat(Files.readString(generationFile).trim()).as("recorded before it is published").isEqualTo(Long.toString(s.generation()));
            last = s.generation();
        }
        assertThat(last).isEqualTo(42);
        assertThat(mode(generationFile)).isEqualTo("rw-------");
        assertThat(names(dir)).containsExactly(NodeIdentity.FILE, NodeIdentity.GENERATION_FILE);

        // A restart (even with the spec's accepted generation lagging behind) never signs a generation again.
        NodeIdentity reloaded = NodeIdentity.loadOrCreate(dir);
        NodeIdentity.Signed afterRestart = reloaded.propose(NAME, NODE, 0, WG2, null, ENDPOINTS);
        assertThat(afterRestart.generation()).isEqualTo(43);
        assertThat(proposal(id, afterRestart, WG2, null, ENDPOINTS).verify(afterRestart.signature())).isTrue();
        assertThat(reloaded.propose(NAME, NODE, 100, WG2, null, ENDPOINTS).generation()).isEqualTo(101);
        assertThat(NodeIdentity.loadOrCreate(dir).propose(NAME, NODE, 7, WG2, null, ENDPOINTS).generation()).isEqualTo(102);
    }

    @Test
    void aGenerationThatCannotBeRecordedIsNotSignedNorSkipped() throws Exception {
        NodeIdentity id = NodeIdentity.loadOrCreate(dir);
        assertThat(id.propose(NAME, NODE, 0, WG, null, ENDPOINTS).generation()).isEqualTo(1);
        // The temp file of the atomic write cannot be made: a directory is in its place (the write fails even for root).
        Path blocker = Files.createDirectory(dir.resolve("." + NodeIdentity.GENERATION_FILE + ".tmp"));
        assertThatThrownBy(() -> id.propose(NAME, NODE, 0, WG2, null, ENDPOINTS)).isInstanceOf(IOException.class);
        assertThat(Files.readString(dir.resolve(NodeIdentity.GENERATION_FILE)).trim()).isEqualTo("1");
        Files.delete(blocker);
        assertThat(id.propose(NAME, NODE, 0, WG2, null, ENDPOINTS).generation()).isEqualTo(2);
    }

    @Test
    void anUnreadableGenerationFileFallsBackToTheAcceptedGeneration() throws Exception {
        NodeIdentity.loadOrCreate(dir).propose(NAME, NODE, 0, WG, null, ENDPOINTS);
        Files.writeString(dir.resolve(NodeIdentity.GENERATION_FILE), "garbage\n");
        NodeIdentity id = NodeIdentity.loadOrCreate(dir); // starts: the spec's accepted generation is the floor
        NodeIdentity.Signed s = id.propose(NAME, NODE, 7, WG, null, ENDPOINTS);
        assertThat(s.generation()).isEqualTo(8);
        assertThat(proposal(id, s, WG, null, ENDPOINTS).verify(s.signature())).isTrue();
        assertThat(Files.readString(dir.resolve(NodeIdentity.GENERATION_FILE)).trim()).isEqualTo("8");
    }
}
