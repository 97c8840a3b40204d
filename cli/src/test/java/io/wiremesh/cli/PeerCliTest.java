package io.wiremesh.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.zxing.BinaryBitmap;
import com.google.zxing.DecodeHintType;
import com.google.zxing.RGBLuminanceSource;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.qrcode.QRCodeReader;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.api.v1alpha1.WireGuardNodeStatus;
import io.wiremesh.api.v1alpha1.WireGuardPeer;
import io.wiremesh.api.v1alpha1.WireGuardPeerStatus;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import io.wiremesh.testing.Commands;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `wiremesh peer add|config|remove` against a real kube-apiserver; the config checked with wg-quick and the QR code decoded. */
class PeerCliTest {
    static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    static KubernetesClient client;
    static Path kubeconfig;
    static final String GATEWAY_KEY = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
    /** Node n2's key: n2 is behind a port-forward (its devices dial vpn.example.test:4500). */
    static final String NATTED_KEY = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
    /** A key n1 proposes in its status that the operator has not accepted (a pending rotation, or a forged status). */
    static final String PROPOSED_KEY = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));

    @TempDir
    Path keys;

    @BeforeAll
    static void cluster() throws Exception {
        kubeconfig = Files.createTempFile("wiremesh-cli", ".kubeconfig");
        Files.writeString(kubeconfig, KubeApiServer.kubeconfig());
        client = KubeApiServer.client();
        WireGuardMesh mesh = new WireGuardMesh();
        mesh.setMetadata(new ObjectMetaBuilder().withName("cli-mesh").build());
        mesh.setSpec(new WireGuardMeshSpec());
        mesh.getSpec().podCIDRs = List.of("10.42.0.0/16", "fd42::/48");
        mesh.getSpec().peerCIDRs = List.of("10.99.0.0/24");
        client.resource(mesh).create();
        member("n1", "10.42.1.0/24", GATEWAY_KEY, PROPOSED_KEY, "198.18.0.11:51820");
        member("n2", "10.42.2.0/24", NATTED_KEY, NATTED_KEY, "198.18.0.12:51820");
    }

    /**
     * A WireGuardNode of cli-mesh with the key and endpoint the operator accepted into its spec ({@code acceptedKey}
     * null: none yet), and the key its node-daemon proposes in the status ({@code proposedKey}: the same, or one not accepted).
     */
    private static void member(String node, String block, String acceptedKey, String proposedKey, String endpoint) {
        WireGuardNode n = new WireGuardNode();
        n.setMetadata(new ObjectMetaBuilder().withName("cli-mesh." + node).withLabels(Map.of(WireGuardNode.MESH_LABEL, "cli-mesh")).build());
        n.setSpec(new WireGuardNodeSpec());
        n.getSpec().mesh = "cli-mesh";
        n.getSpec().nodeName = node;
        n.getSpec().podCIDRs = List.of(block);
        if (acceptedKey != null) { // the operator accepts key and endpoints together
            n.getSpec().publicKey = acceptedKey;
            n.getSpec().endpoints = List.of(endpoint);
        }
        client.resource(n).create();
        client.resources(WireGuardNode.class).withName("cli-mesh." + node).editStatus(x -> {
            x.setStatus(new WireGuardNodeStatus());
            x.getStatus().publicKey = proposedKey;
            x.getStatus().endpoints = List.of(endpoint);
            return x;
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (kubeconfig != null) Files.deleteIfExists(kubeconfig);
    }

    private static CliRun wiremesh(String... args) {
        return CliRun.of(args);
    }

    /**
     * Plays the operator's part (proven in the operator module): allocate the peer an address and name its
     * gateway; {@code gatewayNode} null is a status written by an operator from before that field.
     */
    private static Thread operatorStandIn(String peer, String address, String gatewayNode, String... gatewayEndpoints) {
        return Thread.ofVirtual().start(() -> {
            WireGuardPeer p = client.resources(WireGuardPeer.class).withName(peer).waitUntilCondition(x -> x != null, Liveness.BOUND.toSeconds(), TimeUnit.SECONDS);
            client.resources(WireGuardPeer.class).withName(p.getMetadata().getName()).editStatus(x -> {
                x.setStatus(new WireGuardPeerStatus());
                x.getStatus().addresses = List.of(address);
                x.getStatus().gatewayNode = gatewayNode;
                x.getStatus().gatewayEndpoints = List.of(gatewayEndpoints);
                return x;
            });
        });
    }

    private static Thread operatorStandIn(String peer) {
        return operatorStandIn(peer, "10.99.0.1/32", null, "198.18.0.11:51820");
    }

    /** The wg-quick config in a command's output (the QR code follows it). */
    private static String configIn(String out) {
        return out.substring(0, out.indexOf("\n\n", out.indexOf("[Peer]")) + 1);
    }

    /** `wg-quick strip` of the config: what `wg setconf` would take; fails the test if wg-quick refuses it. */
    private String wgQuickStrip(String config) throws Exception {
        Path conf = keys.resolve("wmcli0.conf");
        Files.writeString(conf, config);
        Process strip = new ProcessBuilder("wg-quick", "strip", conf.toString()).redirectErrorStream(true).start();
        String stripped = new String(strip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(strip.waitFor()).as(stripped).isZero();
        return stripped;
    }

    /** The text of the QR code in a PNG file. */
    private static String qrText(Path png) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        int[] rgb = img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
        return new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(img.getWidth(), img.getHeight(), rgb))),
                // A rendered image, not a photo: read its modules directly (zxing's finder-pattern detection misreads
                // a clean image now and then, ChecksumException, depending on the random keys in it).
                Map.of(DecodeHintType.CHARACTER_SET, "UTF-8", DecodeHintType.PURE_BARCODE, Boolean.TRUE)).getText();
    }

    @Test
    void addPrintsAConfigWgAcceptsAndAQrCodeThatDecodesToIt() throws Exception {
        Thread op = operatorStandIn("laptop");
        Path png = keys.resolve("laptop.png");
        CliRun add = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "add", "laptop", "--mesh", "cli-mesh",
                "--png", png.toString());
        op.join();
        assertThat(add.exit()).as(add.err()).isZero();
        assertThat(add.err()).contains("waiting for an address").contains("10.99.0.1/32");

        // The private key stays here (0600); the cluster has only the public key.
        Path key = keys.resolve("laptop.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        String priv = Files.readString(key).trim();
        WireGuardPeer peer = client.resources(WireGuardPeer.class).withName("laptop").get();
        assertThat(peer.getSpec().publicKey).isEqualTo(Keys.toBase64(X25519.publicKey(Keys.fromBase64(priv))));
        assertThat(client.getKubernetesSerialization().asYaml(peer)).doesNotContain(priv);

        String config = configIn(add.out());
        assertThat(config).contains("PrivateKey = " + priv).contains("Address = 10.99.0.1/32")
                .contains("PublicKey = " + GATEWAY_KEY).contains("Endpoint = 198.18.0.11:51820")
                .doesNotContain(PROPOSED_KEY) // the gateway's accepted key (spec), not what its status proposes
                .contains("AllowedIPs = 10.42.0.0/16, fd42::/48").contains("PersistentKeepalive = 25")
                .doesNotContain("DNS"); // no --dns, no DNS line
        assertThat(add.out()).contains("█"); // the QR code in the terminal

        // wg-quick strips it to what `wg setconf` takes, and wg accepts that.
        String stripped = wgQuickStrip(config);
        assertThat(stripped).doesNotContain("Address").contains("PrivateKey = " + priv);
        Path strippedFile = keys.resolve("stripped.conf");
        Files.writeString(strippedFile, stripped);
        assertThat(wgSetconf(strippedFile, priv)).isTrue();

        // The PNG QR code decodes back to exactly the config text.
        assertThat(qrText(png)).isEqualTo(config);

        // `peer config` reprints it from the local key; `peer remove` revokes it.
        CliRun again = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "laptop");
        assertThat(again.exit()).isZero();
        assertThat(again.out()).startsWith(config);
        CliRun remove = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "remove", "laptop");
        assertThat(remove.exit()).isZero();
        assertThat(client.resources(WireGuardPeer.class).withName("laptop").waitUntilCondition(x -> x == null, Liveness.BOUND.toSeconds(), TimeUnit.SECONDS)).isNull();
        assertThat(key).doesNotExist();
    }

    /** `wg setconf` of the stripped config on a real (Java) WireGuard interface in a namespace of our own. */
    private static boolean wgSetconf(Path stripped, String priv) throws Exception {
        String ns = "wmt-cli-" + Integer.toHexString((int) (System.nanoTime() & 0xffff));
        String ifname = "wmcli" + ns.substring(8);
        run("ip", "netns", "add", ns);
        Process wg = new ProcessBuilder("ip", "netns", "exec", ns, ROOT.resolve("bin/wiremesh-wg").toString(), "-f", ifname)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Path sock = Path.of("/var/run/wireguard", ifname + ".sock");
            long deadline = System.nanoTime() + Liveness.BOUND.toNanos();
            while (!Files.exists(sock) && wg.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
            String set = run("ip", "netns", "exec", ns, "wg", "setconf", ifname, stripped.toString());
            String shown = run("ip", "netns", "exec", ns, "wg", "showconf", ifname);
            return set.isEmpty() && shown.contains("PrivateKey = " + priv) && shown.contains("PublicKey = " + GATEWAY_KEY)
                    && shown.contains("AllowedIPs = 10.42.0.0/16, fd42::/48");
        } finally {
            wg.destroy();
            wg.waitFor(10, TimeUnit.SECONDS);
            run("ip", "netns", "del", ns);
        }
    }

    private static String run(String... cmd) throws Exception {
        return Commands.run(List.of(cmd), null, null).out();
    }

    /**
     * n2 is behind a port-forward: the operator names it as gateway and lists the address devices dial,
     * a DNS name. The config dials that name (unresolved) with n2's key; --dns adds one DNS line.
     */
    @Test
    void aGatewayBehindAPortForwardIsDialledByNameWithItsNodesKey() throws Exception {
        Thread op = operatorStandIn("phone", "10.99.0.2/32", "n2", "vpn.example.test:4500", "198.18.0.11:51820");
        Path png = keys.resolve("phone.png");
        CliRun add = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "add", "phone", "--mesh", "cli-mesh",
                "--png", png.toString(), "--dns", "10.96.0.10");
        op.join();
        assertThat(add.exit()).as(add.err()).isZero();
        String config = configIn(add.out());
        assertThat(config).contains("Endpoint = vpn.example.test:4500\n").contains("PublicKey = " + NATTED_KEY + "\n")
                .doesNotContain(GATEWAY_KEY).doesNotContain(PROPOSED_KEY).doesNotContain("198.18.0.1");
        assertThat(config.lines().filter(l -> l.startsWith("DNS")).toList()).containsExactly("DNS = 10.96.0.10");
        assertThat(config.indexOf("DNS = ")).isBetween(config.indexOf("[Interface]"), config.indexOf("[Peer]"));
        // Outside the split tunnel's AllowedIPs: said, not refused (a public resolver there is a fine choice).
        assertThat(add.err()).contains("note: DNS server 10.96.0.10 is outside AllowedIPs");
        assertThat(wgQuickStrip(config)).contains("Endpoint = vpn.example.test:4500").doesNotContain("DNS");
        assertThat(qrText(png)).isEqualTo(config).contains("Endpoint = vpn.example.test:4500");

        // `peer config` without --dns: no DNS line; with several entries: one line, in order.
        CliRun plain = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "phone");
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(configIn(plain.out())).doesNotContain("DNS").contains("Endpoint = vpn.example.test:4500");
        CliRun several = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "phone",
                "--dns", "10.42.0.10,fd42::a,svc.cluster.local");
        assertThat(several.exit()).as(several.err()).isZero();
        assertThat(configIn(several.out()).lines().filter(l -> l.startsWith("DNS")).toList())
                .containsExactly("DNS = 10.42.0.10, fd42::a, svc.cluster.local");
        assertThat(several.err()).doesNotContain("note: DNS server"); // both inside the mesh's pod CIDRs

        // A bad entry is refused before anything is made, saying which and why.
        for (String bad : List.of("10.96.0.300", "svc_cluster.local", "10.96.0.10,bad_domain", "[fd42::a]", "")) {
            CliRun refused = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "add", "tablet", "--mesh", "cli-mesh",
                    "--dns", bad);
            assertThat(refused.exit()).as(bad).isNotZero();
            assertThat(refused.err()).as(bad).contains("--dns").contains("is neither an IP address nor a DNS search domain");
        }
        assertThat(wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "phone", "--dns", "10.96.0.300").err())
                .contains("\"10.96.0.300\" is neither an IP address nor a DNS search domain").contains("not an IPv4 address");
        assertThat(keys.resolve("tablet.key")).doesNotExist();
        assertThat(client.resources(WireGuardPeer.class).withName("tablet").get()).isNull();
        assertThat(wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "remove", "phone").exit()).isZero();
    }

    /**
     * n3's node-daemon has proposed a key and endpoint in its status, but the operator has not accepted them:
     * there is no config to give (a device must not get a key nobody vouched for) until the spec holds them.
     */
    @Test
    void aGatewayWhoseKeyIsOnlyProposedGivesNoConfigUntilTheOperatorAcceptsIt() throws Exception {
        String n3Key = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
        member("n3", "10.42.3.0/24", null, n3Key, "198.18.0.13:51820");
        try {
            Thread op = operatorStandIn("reader", "10.99.0.3/32", "n3", "198.18.0.13:51820");
            CliRun add = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "add", "reader", "--mesh", "cli-mesh",
                    "--timeout", "PT3S");
            op.join();
            assertThat(add.exit()).as(add.out()).isEqualTo(1);
            assertThat(add.out()).doesNotContain(n3Key).doesNotContain("[Peer]");
            assertThat(add.err()).contains("no address or no gateway with an accepted key after 3 s");
            CliRun waiting = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "reader");
            assertThat(waiting.exit()).isEqualTo(1);
            assertThat(waiting.err()).contains("peer reader has no address or no gateway yet");

            // The operator accepts n3's proposal into the spec: now the config has n3's key.
            client.resources(WireGuardNode.class).withName("cli-mesh.n3").edit(x -> {
                x.getSpec().publicKey = n3Key;
                x.getSpec().endpoints = List.of("198.18.0.13:51820");
                return x;
            });
            CliRun accepted = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "reader");
            assertThat(accepted.exit()).as(accepted.err()).isZero();
            assertThat(configIn(accepted.out())).contains("PublicKey = " + n3Key + "\n").contains("Endpoint = 198.18.0.13:51820\n")
                    .contains("Address = 10.99.0.3/32");
        } finally {
            wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "remove", "reader");
            client.resources(WireGuardNode.class).withName("cli-mesh.n3").delete();
        }
    }

    @Test
    void missingMeshesAndUnreachableClustersAreClearErrors() throws Exception {
        CliRun noMesh = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "add", "phone", "--mesh", "nope");
        assertThat(noMesh.exit()).isEqualTo(1);
        assertThat(noMesh.err()).contains("WireGuardMesh nope does not exist").contains("kubectl get wgmesh");
        assertThat(keys.resolve("phone.key")).doesNotExist();

        Path bad = keys.resolve("bad.kubeconfig");
        Files.writeString(bad, Files.readString(kubeconfig).replaceAll("https://127\\.0\\.0\\.1:\\d+", "https://127.0.0.1:1"));
        CliRun down = wiremesh("peer", "--kubeconfig", bad.toString(), "--dir", keys.toString(), "add", "phone", "--mesh", "cli-mesh");
        assertThat(down.exit()).isEqualTo(1);
        assertThat(down.err()).contains("could not be reached");

        CliRun unknown = wiremesh("peer", "--kubeconfig", kubeconfig.toString(), "--dir", keys.toString(), "config", "ghost");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("no private key for peer ghost");
    }
}
