package io.wiremesh.cli;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.wiremesh.api.v1alpha1.PeerGateway;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerSpec;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code wiremesh peer add|config|remove}: external devices join a mesh with a generated config. */
@Command(name = "peer", mixinStandardHelpOptions = true, description = "External peers (laptops, phones): add, show the config again, remove.",
        subcommands = {PeerCommands.Add.class, PeerCommands.Show.class, PeerCommands.Remove.class})
public final class PeerCommands {
    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Option(names = "--dir", description = "where private keys of peers are kept (default: ~/.config/wiremesh/peers)")
    Path dir = Path.of(System.getProperty("user.home"), ".config", "wiremesh", "peers");

    PrintStream out = System.out;
    PrintStream err = System.err;

    KubernetesClient client() {
        return cluster.client();
    }

    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    /** Loads the local private key of a peer. */
    String privateKey(String name) throws IOException, Failure {
        Path f = dir.resolve(name + ".key");
        if (!Files.exists(f)) throw new Failure("no private key for peer " + name + " in " + dir + ": it was added on another machine, or use --dir");
        return Files.readString(f).trim();
    }

    /**
     * The config of an allocated peer, or null while the operator has not given it an address and a gateway yet.
     *
     * @param dns DNS servers and search domains for the device (validated by {@link DnsOption}); empty: no DNS line
     */
    WgQuickConfig config(KubernetesClient c, String name, String privateKey, List<String> dns) throws Failure {
        WireGuardPeer p = c.resources(WireGuardPeer.class).withName(name).get();
        if (p == null) throw new Failure("WireGuardPeer " + name + " does not exist: add it with `wiremesh peer add " + name + " --mesh MESH`");
        if (p.getStatus() == null || p.getStatus().addresses == null || p.getStatus().addresses.isEmpty()) return null;
        WireGuardMesh mesh = c.resources(WireGuardMesh.class).withName(p.getSpec().mesh).get();
        if (mesh == null) throw new Failure("WireGuardMesh " + p.getSpec().mesh + " does not exist");
        // The device dials the first gateway endpoint as the operator wrote it (an external address or DNS name
        // when the node has one: never resolved here); the key is that of the node the status names.
        if (p.getStatus().gatewayEndpoints == null || p.getStatus().gatewayEndpoints.isEmpty()) return null;
        String endpoint = p.getStatus().gatewayEndpoints.get(0);
        WireGuardNode gateway = PeerGateway.find(p.getStatus(), c.resources(WireGuardNode.class)
                .withLabel(WireGuardNode.MESH_LABEL, p.getSpec().mesh).list().getItems().stream()
                .filter(n -> n.getSpec() != null && n.getSpec().publicKey != null).toList());
        if (gateway == null) return null;
        boolean full = p.getSpec().tunnel == WireGuardPeerSpec.Tunnel.FULL;
        List<String> allowed = full ? List.of("0.0.0.0/0", "::/0") : new ArrayList<>(mesh.getSpec().podCIDRs);
        int keepalive = p.getSpec().persistentKeepalive != null ? p.getSpec().persistentKeepalive : 25;
        Path pskFile = dir.resolve(name + ".psk");
        String psk = null;
        if (p.getSpec().presharedKeySecretRef != null) {
            try {
                psk = Files.readString(pskFile).trim();
            } catch (IOException e) {
                throw new Failure("peer " + name + " uses a preshared key, but " + pskFile + " is missing");
            }
        }
        return new WgQuickConfig(privateKey, p.getStatus().addresses, dns, gateway.getSpec().publicKey, psk, endpoint,
                allowed, keepalive);
    }

    void print(WgQuickConfig cfg, Path png) throws IOException {
        for (String d : cfg.dnsOutsideTunnel()) {
            err.println("note: DNS server " + d + " is outside AllowedIPs " + cfg.allowedIps() + ": the device sends its queries there"
                    + " directly, not through the mesh");
        }
        String text = cfg.render();
        out.print(text);
        out.println();
        var matrix = Qr.encode(text);
        out.print(Qr.terminal(matrix));
        if (png != null) {
            Qr.png(matrix, png, 8);
            err.println("QR code written to " + png);
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Create a key pair here, register the public key as a WireGuardPeer, print config and QR code.")
    static final class Add implements Callable<Integer> {
        @ParentCommand
        PeerCommands peer;

        @Parameters(index = "0", description = "peer name (a Kubernetes object name)")
        String name;

        @Option(names = "--mesh", required = true, description = "the WireGuardMesh to join")
        String mesh;

        @Option(names = "--full-tunnel", description = "send all traffic through the mesh (default: only the mesh's pod CIDRs)")
        boolean full;

        @Option(names = "--png", description = "also write the QR code to this PNG file")
        Path png;

        @Option(names = "--timeout", description = "how long to wait for the address (ISO-8601, default: PT60S)")
        Duration timeout = Duration.ofSeconds(60);

        @Option(names = "--preshared-key", description = "add a preshared key (kept here and in a Secret the gateway nodes read)")
        boolean psk;

        @Mixin
        DnsOption dns;

        @Option(names = "--psk-namespace", description = "namespace of that Secret (default: wiremesh-peer-keys, the chart's peerKeys.namespace:"
                + " the one namespace where nodes may read Secrets)")
        String pskNamespace = "wiremesh-peer-keys";

        @Override
        public Integer call() throws Exception {
            try (KubernetesClient c = peer.client()) {
                if (c.resources(WireGuardMesh.class).withName(mesh).get() == null) {
                    throw new Failure("WireGuardMesh " + mesh + " does not exist in the cluster at " + c.getMasterUrl()
                            + ": list meshes with `kubectl get wgmesh`");
                }
                // The private key is made and kept here; only the public key goes to the cluster.
                byte[] priv = X25519.generatePrivateKey();
                Files.createDirectories(peer.dir);
                Path keyFile = peer.dir.resolve(name + ".key");
                Files.writeString(keyFile, Keys.toBase64(priv) + "\n", StandardOpenOption.CREATE_NEW);
                Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
                WireGuardPeer p = new WireGuardPeer();
                p.setMetadata(new ObjectMetaBuilder().withName(name).build());
                p.setSpec(new WireGuardPeerSpec());
                p.getSpec().mesh = mesh;
                p.getSpec().publicKey = Keys.toBase64(X25519.publicKey(priv));
                p.getSpec().tunnel = full ? WireGuardPeerSpec.Tunnel.FULL : WireGuardPeerSpec.Tunnel.SPLIT;
                if (psk) {
                    if (c.namespaces().withName(pskNamespace).get() == null) {
                        throw new Failure("namespace " + pskNamespace + " does not exist: pass --psk-namespace with the chart's peerKeys.namespace");
                    }
                    byte[] q = new byte[32];
                    Keys.random().nextBytes(q);
                    String b64 = Keys.toBase64(q);
                    Path pskFile = peer.dir.resolve(name + ".psk");
                    Files.writeString(pskFile, b64 + "\n", StandardOpenOption.CREATE_NEW);
                    Files.setPosixFilePermissions(pskFile, PosixFilePermissions.fromString("rw-------"));
                    c.resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName(name + "-psk")
                            .withNamespace(pskNamespace).endMetadata().addToStringData("presharedKey", b64).build()).create();
                    p.getSpec().presharedKeySecretRef = new WireGuardPeerSpec.SecretKeyRef();
                    p.getSpec().presharedKeySecretRef.name = name + "-psk";
                    p.getSpec().presharedKeySecretRef.namespace = pskNamespace;
                    p.getSpec().presharedKeySecretRef.key = "presharedKey";
                }
                c.resource(p).create();
                peer.err.print("waiting for an address from mesh " + mesh + " ");
                long deadline = System.nanoTime() + timeout.toNanos();
                WgQuickConfig cfg;
                while ((cfg = peer.config(c, name, Keys.toBase64(priv), dns.entries())) == null) {
                    if (System.nanoTime() > deadline) {
                        peer.err.println();
                        throw new Failure("no address or no gateway with an accepted key after " + timeout.toSeconds() + " s: is the wiremesh"
                                + " operator running? See `kubectl get wgpeer " + name + " -o yaml` for its conditions and `kubectl get wgnode`"
                                + " (PROPOSAL) for the nodes");
                    }
                    peer.err.print(".");
                    Thread.sleep(500);
                }
                peer.err.println(" " + String.join(", ", cfg.addresses()));
                peer.print(cfg, png);
                return 0;
            }
        }
    }

    @Command(name = "config", mixinStandardHelpOptions = true, description = "Print a peer's config and QR code again (from the key kept here).")
    static final class Show implements Callable<Integer> {
        @ParentCommand
        PeerCommands peer;

        @Parameters(index = "0")
        String name;

        @Option(names = "--png")
        Path png;

        @Mixin
        DnsOption dns;

        @Override
        public Integer call() throws Exception {
            try (KubernetesClient c = peer.client()) {
                WgQuickConfig cfg = peer.config(c, name, peer.privateKey(name), dns.entries());
                if (cfg == null) throw new Failure("peer " + name + " has no address or no gateway yet: see `kubectl get wgpeer " + name + "`");
                peer.print(cfg, png);
                return 0;
            }
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Revoke a peer: delete its WireGuardPeer (its address returns to the pool) and its local key.")
    static final class Remove implements Callable<Integer> {
        @ParentCommand
        PeerCommands peer;

        @Parameters(index = "0")
        String name;

        @Override
        public Integer call() throws Exception {
            try (KubernetesClient c = peer.client()) {
                WireGuardPeer existing = c.resources(WireGuardPeer.class).withName(name).get();
                boolean gone = !c.resources(WireGuardPeer.class).withName(name).delete().isEmpty();
                if (existing != null && existing.getSpec().presharedKeySecretRef != null) {
                    var ref = existing.getSpec().presharedKeySecretRef;
                    c.secrets().inNamespace(ref.namespace).withName(ref.name).delete();
                }
                Files.deleteIfExists(peer.dir.resolve(name + ".key"));
                Files.deleteIfExists(peer.dir.resolve(name + ".psk"));
                peer.err.println(gone ? "removed peer " + name : "peer " + name + " did not exist");
                return 0;
            }
        }
    }

    static int run(Callable<Integer> c, PrintStream err) {
        try {
            return c.call();
        } catch (Failure e) {
            err.println("wiremesh: " + e.getMessage());
            return 1;
        } catch (KubernetesClientException e) {
            err.println("wiremesh: the cluster refused or could not be reached: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("wiremesh: " + e);
            return 1;
        }
    }
}
