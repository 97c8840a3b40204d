package io.wiremesh.node.wg;

import java.io.IOException;
import java.util.List;

/**
 * The node's WireGuard interface as whichever implementation drives it now. A live change of the
 * mesh's {@code spec.datapath} replaces the implementation behind it ({@link #switchTo}); everything
 * holding this object (peer sync, status, metrics) follows without being told.
 */
public final class SwitchableDevice implements WireGuardDevice {
    private volatile WireGuardDevice current;

    public SwitchableDevice(WireGuardDevice initial) {
        this.current = initial;
    }

    /** Puts {@code next} behind this object and closes the previous implementation's handles. */
    public void switchTo(WireGuardDevice next) {
        WireGuardDevice previous = current;
        current = next;
        if (previous != next) previous.close();
    }

    /** The implementation behind this object now. */
    public WireGuardDevice current() {
        return current;
    }

    @Override
    public String kind() {
        return current.kind();
    }

    @Override
    public void configure(byte[] privateKey, int listenPort) throws IOException {
        current.configure(privateKey, listenPort);
    }

    @Override
    public boolean configured() {
        return current.configured();
    }

    @Override
    public void upsertPeer(PeerConfig peer, PeerState state) throws IOException {
        current.upsertPeer(peer, state);
    }

    @Override
    public void removePeer(String publicKey) throws IOException {
        current.removePeer(publicKey);
    }

    @Override
    public List<PeerState> peers() throws IOException {
        return current.peers();
    }

    @Override
    public void close() {
        current.close();
    }
}
