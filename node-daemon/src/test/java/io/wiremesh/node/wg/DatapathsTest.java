package io.wiremesh.node.wg;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.node.wg.Datapaths.Existing;
import io.wiremesh.wireguard.uapi.InterfaceOwner;
import org.junit.jupiter.api.Test;

/** What happens to a link that already has the interface's name when a datapath takes it over. */
class DatapathsTest {
    @Test
    void nothingThereIsKept() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, false, null)).isEqualTo(Existing.KEEP);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, false, null)).isEqualTo(Existing.KEEP);
    }

    @Test
    void theOwnersOwnInterfaceOutlivesARestart() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, true, "wireguard")).isEqualTo(Existing.KEEP);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, true, "tun")).isEqualTo(Existing.KEEP);
    }

    @Test
    void theOtherImplementationsInterfaceIsRemovedOnASwitch() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, true, "tun")).isEqualTo(Existing.REMOVE);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, true, "wireguard")).isEqualTo(Existing.REMOVE);
    }

    @Test
    void aLinkOfAnotherKindIsNeverDeleted() {
        for (InterfaceOwner o : InterfaceOwner.values()) {
            assertThat(Existing.of(o, true, "veth")).isEqualTo(Existing.FOREIGN);
            assertThat(Existing.of(o, true, "dummy")).isEqualTo(Existing.FOREIGN);
            assertThat(Existing.of(o, true, null)).as("a physical interface has no kind").isEqualTo(Existing.FOREIGN);
        }
    }
}
