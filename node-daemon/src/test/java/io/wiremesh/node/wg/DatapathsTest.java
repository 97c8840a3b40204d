package io.wiremesh.node.wg;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.node.wg.Datapaths.Existing;
import io.wiremesh.wireguard.uapi.InterfaceOwner;
import org.junit.jupiter.api.Test;

/** What happens to a link that already has the interface's name when a datapath takes it over. */
class DatapathsTest {
    @Test
    void nothingThereIsKept() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, false, null, false)).isEqualTo(Existing.KEEP);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, false, null, false)).isEqualTo(Existing.KEEP);
    }

    @Test
    void theOwnersOwnInterfaceOutlivesARestart() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, true, "wireguard", false)).isEqualTo(Existing.KEEP);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, true, "tun", true)).isEqualTo(Existing.KEEP);
    }

    @Test
    void theOtherImplementationsInterfaceIsRemovedOnASwitch() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, true, "tun", true)).isEqualTo(Existing.REMOVE);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, true, "wireguard", false)).isEqualTo(Existing.REMOVE);
    }

    @Test
    void aTunIsDeletedOnlyWhileOurDatapathServesIt() {
        assertThat(Existing.of(InterfaceOwner.KERNEL, true, "tun", false)).as("another program's TUN").isEqualTo(Existing.FOREIGN);
        assertThat(Existing.of(InterfaceOwner.USERSPACE, true, "tun", false)).as("ours, socket not up yet").isEqualTo(Existing.KEEP);
    }

    @Test
    void aLinkOfAnotherKindIsNeverDeleted() {
        for (InterfaceOwner o : InterfaceOwner.values()) {
            assertThat(Existing.of(o, true, "veth", false)).isEqualTo(Existing.FOREIGN);
            assertThat(Existing.of(o, true, "dummy", true)).isEqualTo(Existing.FOREIGN);
            assertThat(Existing.of(o, true, null, false)).as("a physical interface has no kind").isEqualTo(Existing.FOREIGN);
        }
    }
}
