package io.wiremesh.node.cni;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which configurations the runtime reads before wiremesh's, moving them aside and back. */
class NetworkConfigDirTest {
    @TempDir
    Path dir;

    @Test
    void onlyFilesTheRuntimeReadsBeforeOursCount() throws Exception {
        for (String n : new String[] {"05-calico.conflist", "10-flannel.conflist", "10-containerd-net.conflist", "00-old.conf", "01-x.json",
                "10-wiremesh.conflist", "99-loopback.conf", "05-notes.txt", ".10-wiremesh.conflist.tmp", "calico-kubeconfig"}) {
            Files.writeString(dir.resolve(n), "{}");
        }
        Files.createDirectories(dir.resolve("02-a-directory.conf"));
        assertThat(NetworkConfigDir.preceding(dir, CniInstaller.CONFLIST)).extracting(p -> p.getFileName().toString())
                .containsExactly("00-old.conf", "01-x.json", "05-calico.conflist", "10-containerd-net.conflist", "10-flannel.conflist");
        assertThat(NetworkConfigDir.preceding(dir.resolve("absent"), CniInstaller.CONFLIST)).isEmpty();
    }

    @Test
    void movedAsideOutOfTheRuntimesSightAndPutBackUnlessTheNameIsTaken() throws Exception {
        Path calico = Files.writeString(dir.resolve("05-calico.conflist"), "calico");
        Path flannel = Files.writeString(dir.resolve("10-flannel.conflist"), "flannel");
        Path aside = NetworkConfigDir.moveAside(calico);
        NetworkConfigDir.moveAside(flannel);
        assertThat(aside.getFileName().toString()).isEqualTo("05-calico.conflist" + NetworkConfigDir.ASIDE);
        assertThat(NetworkConfigDir.preceding(dir, CniInstaller.CONFLIST)).isEmpty();
        Files.writeString(flannel, "a new flannel");

        NetworkConfigDir.Restored r = NetworkConfigDir.restore(dir);
        assertThat(r.restored()).containsExactly(calico);
        assertThat(Files.readString(calico)).isEqualTo("calico");
        assertThat(r.keptAside()).containsExactly(dir.resolve("10-flannel.conflist" + NetworkConfigDir.ASIDE));
        assertThat(Files.readString(flannel)).as("never overwritten").isEqualTo("a new flannel");
    }
}
