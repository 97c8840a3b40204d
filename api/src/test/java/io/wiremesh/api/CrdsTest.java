package io.wiremesh.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** crds/ must be what the model generates, and no schema may carry a private key. */
class CrdsTest {
    private static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
    private static final List<String> CRDS = List.of(
            "wireguardmeshes.wiremesh.io-v1.yml", "wireguardnodes.wiremesh.io-v1.yml", "wireguardpeers.wiremesh.io-v1.yml");

    @Test
    void committedCrdsAreUpToDate() throws Exception {
        for (String crd : CRDS) {
            Path committed = ROOT.resolve("crds").resolve(crd);
            assertThat(committed).as("crds/%s is missing: run mvn -pl api process-classes -Pupdate-crds", crd).exists();
            assertThat(Files.readString(committed))
                    .as("crds/%s is stale: run mvn -pl api process-classes -Pupdate-crds and commit the result", crd)
                    .isEqualTo(Files.readString(GENERATED.resolve(crd)));
        }
        try (Stream<Path> files = Files.list(ROOT.resolve("crds"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(CRDS);
        }
    }

    @Test
    void noSchemaHasRoomForAPrivateKey() throws Exception {
        for (String crd : CRDS) {
            assertThat(Files.readString(GENERATED.resolve(crd)).toLowerCase()).doesNotContain("privatekey").doesNotContain("private_key");
        }
    }
}
