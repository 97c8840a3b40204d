package io.wiremesh.node.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.wiremesh.api.net.Cidr;
import io.wiremesh.node.wg.WireGuardDevice;
import io.wiremesh.node.wg.WireGuardDevice.PeerConfig;
import io.wiremesh.node.wg.WireGuardDevice.PeerState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How many reads and writes a plan costs the interface, and that the record never hides a change. */
class PeerSyncTest {
    /** An interface in memory that counts full reads and records writes. */
    static final class CountingDevice implements WireGuardDevice {
        final Map<String, PeerState> peers = new LinkedHashMap<>();
        final List<String> writes = new ArrayList<>();
        int reads;
        boolean failNextWrite;

        @Override public String kind() { return "userspace"; }
        @Override public void configure(byte[] privateKey, int listenPort) {}
        @Override public boolean configured() { return true; }

        @Override
        public void upsertPeer(PeerConfig p, PeerState current) throws IOException {
            if (failNextWrite) {
                failNextWrite = false;
                throw new IOException("refused");
            }
            writes.add("set " + p.publicKey());
            // Cryptokey routing: a prefix has one owner; writing it to one peer takes it from any other.
            for (var e : peers.entrySet()) {
                if (e.getKey().equals(p.publicKey())) continue;
                PeerState o = e.getValue();
                e.setValue(new PeerState(o.publicKey(), o.endpoint(), o.allowedIps().stream().filter(ip -> !p.allowedIps().contains(ip)).toList(),
                        0, 0, 0, o.persistentKeepalive(), o.presharedKey()));
            }
            peers.put(p.publicKey(), PeerSync.written(p, peers.get(p.publicKey())));
        }

        @Override
        public void removePeer(String publicKey) {
            writes.add("remove " + publicKey);
            peers.remove(publicKey);
        }

        @Override
        public List<PeerState> peers() {
            reads++;
            return List.copyOf(peers.values());
        }
    }

    private final CountingDevice device = new CountingDevice();
    private long now = 0;
    private final PeerSync sync = new PeerSync(device, () -> now);

    private static PeerConfig peer(int i) {
        return new PeerConfig("key" + i, "198.18.0." + i + ":51820", List.of("10.42." + i + ".0/24"), 0);
    }

    private static PeerPlan plan(int... nodes) {
        Map<String, PeerConfig> peers = new LinkedHashMap<>();
        java.util.TreeSet<Cidr> blocks = new java.util.TreeSet<>();
        for (int i : nodes) {
            peers.put("key" + i, peer(i));
            blocks.add(Cidr.parse("10.42." + i + ".0/24"));
        }
        return new PeerPlan(peers, blocks, Map.of(), Map.of());
    }

    @Test
    void aJoinAfterTheFirstSyncIsOneWriteAndNoRead() throws IOException {
        sync.apply(plan(1, 2, 3), true);
        assertThat(device.reads).isEqualTo(1);
        assertThat(device.writes).containsExactly("set key1", "set key2", "set key3");
        device.writes.clear();
        sync.apply(plan(1, 2, 3, 4), true);
        assertThat(device.reads).as("no read of every peer for one join").isEqualTo(1);
        assertThat(device.writes).containsExactly("set key4");
        assertThat(plan(1, 2, 3, 4).routedBlocks()).as("the blocks the routes step routes").hasSize(4);
    }

    @Test
    void aLeaveIsOneRemovalButOnlyFromACompleteView() throws IOException {
        sync.apply(plan(1, 2, 3), true);
        device.writes.clear();
        sync.apply(plan(1, 3), false);
        assertThat(device.writes).as("an incomplete view removes nothing").isEmpty();
        sync.apply(plan(1, 3), true);
        assertThat(device.writes).containsExactly("remove key2");
        assertThat(device.peers).containsOnlyKeys("key1", "key3");
    }

    @Test
    void aPeerChangedBehindOurBackIsRepairedAtTheNextReread() throws IOException {
        sync.apply(plan(1, 2), true);
        device.peers.remove("key2"); // e.g. `wg set wiremesh0 peer ... remove` by hand
        sync.apply(plan(1, 2), true);
        assertThat(device.peers).as("trusted record: not noticed yet").doesNotContainKey("key2");
        now += PeerSync.REREAD_AFTER_NANOS + 1;
        sync.apply(plan(1, 2), true);
        assertThat(device.reads).isEqualTo(2);
        assertThat(device.peers).containsKey("key2");
    }

    @Test
    void aNewInterfaceIsReadAgain() throws IOException {
        sync.apply(plan(1, 2), true);
        device.peers.clear(); // the datapath restarted with an empty interface
        sync.invalidate();
        sync.apply(plan(1, 2), true);
        assertThat(device.reads).isEqualTo(2);
        assertThat(device.peers).containsOnlyKeys("key1", "key2");
    }

    @Test
    void aPrefixTakenByAnotherPeerAndGivenBackIsRestored() throws IOException {
        sync.apply(plan(1, 2), true);
        // Peer 1 briefly claims peer 2's block (two members claiming one range), then lets it go again.
        PeerConfig grab = new PeerConfig("key1", "198.18.0.1:51820", List.of("10.42.1.0/24", "10.42.2.0/24"), 0);
        Map<String, PeerConfig> both = new LinkedHashMap<>();
        both.put("key2", peer(2)); // unchanged: not written
        both.put("key1", grab);    // written last: the interface gives it the prefix
        sync.apply(new PeerPlan(both, Set.of(), Map.of(), Map.of()), true);
        assertThat(device.peers.get("key2").allowedIps()).as("the interface moved it").isEmpty();
        sync.apply(plan(1, 2), true);
        assertThat(device.peers.get("key2").allowedIps()).as("given back without waiting for a re-read").containsExactly("10.42.2.0/24");
        assertThat(device.reads).isEqualTo(1);
    }

    @Test
    void aFailedWriteDropsTheRecord() throws IOException {
        sync.apply(plan(1), true);
        device.failNextWrite = true;
        assertThatThrownBy(() -> sync.apply(plan(1, 2), true)).hasMessage("refused");
        sync.apply(plan(1, 2), true);
        assertThat(device.reads).as("read again after a failure").isEqualTo(2);
        assertThat(device.peers).containsOnlyKeys("key1", "key2");
    }

    @Test
    void aNewPresharedKeyIsOneWriteOfThatPeerAndASyncKeepsIt() throws Exception {
        sync.apply(plan(1, 2, 3), true);
        int reads = device.reads;
        device.writes.clear();
        assertThat(sync.presharedKey("key2", "PSK-A")).isTrue();
        assertThat(device.writes).containsExactly("set key2");
        assertThat(device.reads).as("no read of the other peers").isEqualTo(reads);
        assertThat(device.peers.get("key2").presharedKey()).isEqualTo("PSK-A");
        assertThat(device.peers.get("key2").allowedIps()).containsExactly("10.42.2.0/24");
        assertThat(device.peers.get("key2").endpoint()).isEqualTo("198.18.0.2:51820");
        assertThat(sync.presharedKey("key2", "PSK-A")).as("already there").isTrue();
        assertThat(sync.presharedKey("key9", "PSK-B")).as("not on the interface: the sync that adds it brings the key").isTrue();
        assertThat(device.writes).containsExactly("set key2");
        // A plan carrying the same key writes nothing; one carrying none removes it.
        Map<String, PeerConfig> peers = new LinkedHashMap<>(plan(1, 2, 3).peers());
        PeerConfig two = peers.get("key2");
        peers.put("key2", new PeerConfig(two.publicKey(), two.endpoint(), two.allowedIps(), 0, "PSK-A"));
        sync.apply(new PeerPlan(peers, plan(1, 2, 3).routedBlocks(), Map.of(), Map.of()), true);
        assertThat(device.writes).containsExactly("set key2");
        sync.apply(plan(1, 2, 3), true);
        assertThat(device.peers.get("key2").presharedKey()).isNull();
        device.failNextWrite = true;
        assertThatThrownBy(() -> sync.presharedKey("key1", "PSK-C")).isInstanceOf(IOException.class);
    }
}
