package io.wiremesh.node.netlink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Datapath detection asks the kernel's generic netlink controller for the "wireguard" family. */
class GenericNetlinkTest {
    @Test
    void theControllerFamilyIsFoundAndWireguardOnlyWhereTheModuleIs() throws Exception {
        assertThat(Netlink.genericFamilyExists("nlctrl")).isTrue(); // the controller always exists
        assertThat(Netlink.genericFamilyExists("wm-nofamily")).isFalse();
        boolean module = Files.exists(Path.of("/sys/module/wireguard"));
        assertThat(Netlink.genericFamilyExists("wireguard")).isEqualTo(module);
    }
}
