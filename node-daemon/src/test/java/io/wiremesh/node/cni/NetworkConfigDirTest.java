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
        // Multus in front, delegating to wiremesh (by its list or its plugin type): that is wiremesh, not another network.
        Files.writeString(dir.resolve("00-multus.conf"), "{\"cniVersion\":\"0.3.1\",\"name\":\"multus-cni-network\",\"type\":\"multus\","
                + "\"clusterNetwork\":\"/etc/cni/net.d/10-wiremesh.conflist\"}");
        Files.writeString(dir.resolve("00-multus-delegates.conf"), "{\"type\":\"multus\",\"delegates\":[{\"name\":\"wiremesh\",\"plugins\":[{\"type\" : \"wiremesh\"}]}]}");
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
        Files.writeString(calico, "calico, written again by its installer");
        assertThat(NetworkConfigDir.moveAside(calico).getFileName().toString()).as("the first copy is never overwritten")
                .isEqualTo("05-calico.conflist" + NetworkConfigDir.ASIDE + ".2");
        assertThat(aside.getFileName().toString()).isEqualTo("05-calico.conflist" + NetworkConfigDir.ASIDE);
        assertThat(NetworkConfigDir.preceding(dir, CniInstaller.CONFLIST)).isEmpty();
        Files.writeString(flannel, "a new flannel");

        NetworkConfigDir.Restored r = NetworkConfigDir.restore(dir);
        assertThat(r.restored()).containsExactly(calico);
        assertThat(Files.readString(calico)).as("the first one back").isEqualTo("calico");
        assertThat(dir.resolve("05-calico.conflist" + NetworkConfigDir.ASIDE + ".2")).as("later copies stay for an admin").exists();
        assertThat(r.keptAside()).containsExactly(dir.resolve("10-flannel.conflist" + NetworkConfigDir.ASIDE));
        assertThat(Files.readString(flannel)).as("never overwritten").isEqualTo("a new flannel");
    }
}
