package io.wiremesh.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.identity.Proposal;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code wiremesh node}: what an admin decides about a mesh node (today: approving a new identity). */
@Command(name = "node", mixinStandardHelpOptions = true, description = "Mesh nodes: approve a node's new signing identity.",
        subcommands = NodeCommands.Approve.class)
public final class NodeCommands {
    PrintStream out = System.out;
    PrintStream err = System.err;

    /**
     * Sets {@link WireGuardNode#APPROVED_IDENTITY} on the node's WireGuardNode, so the operator accepts
     * the identity with that fingerprint and the keys it signs; then waits for the acceptance. Refuses a
     * malformed fingerprint, a missing node, and a fingerprint the node's status does not present now (an
     * approval left waiting would accept whoever presents that identity later).
     */
    @Command(name = "approve", mixinStandardHelpOptions = true,
            description = {"Accept NODE's new signing identity after its disk was wiped or replaced (its Node object kept).",
                    "FINGERPRINT is what the node-daemon on NODE logs at start (\"identity SHA256:...\"): compare it there first."
                            + " The fingerprint in the WireGuardNode's condition comes from the node's status, which another node's"
                            + " credentials could have written."})
    static final class Approve implements Callable<Integer> {
        @ParentCommand
        NodeCommands node;

        @Mixin
        ClusterOptions cluster = new ClusterOptions();

        @Parameters(index = "0", description = "the Kubernetes node name")
        String name;

        @Parameters(index = "1", description = "the identity's fingerprint, SHA256:...")
        String fingerprint;

        @Option(names = "--mesh", description = "the WireGuardMesh (default: default)")
        String mesh = "default";

        @Option(names = "--timeout", description = "how long to wait for the operator to accept it (ISO-8601, default: PT30S; PT0S: do not wait)")
        Duration timeout = Duration.ofSeconds(30);

        @Override
        public Integer call() throws Exception {
            if (!Proposal.isFingerprint(fingerprint)) {
                throw new PeerCommands.Failure("\"" + fingerprint + "\" is not a fingerprint: expected SHA256: and 43 base64 characters,"
                        + " as the node-daemon logs it (\"identity SHA256:...\")");
            }
            String member = WireGuardNode.nameFor(mesh, name);
            try (KubernetesClient c = cluster.client()) {
                WireGuardNode w = c.resources(WireGuardNode.class).withName(member).get();
                if (w == null) throw new PeerCommands.Failure("no WireGuardNode " + member + ": is " + name + " a node of mesh " + mesh + "? (--mesh)");
                if (w.getSpec().identity != null && fingerprint.equals(w.getSpec().identity.fingerprint)) {
                    node.out.println("identity " + fingerprint + " of node " + name + " is already the accepted one");
                    return 0;
                }
                String presented = w.getStatus() == null || w.getStatus().identityKey == null ? null : safeFingerprint(w.getStatus().identityKey);
                if (!fingerprint.equals(presented)) {
                    // An approval left waiting would accept whoever presents that identity later, from any node's credentials.
                    throw new PeerCommands.Failure("node " + name + " presents " + (presented == null ? "no identity" : presented) + ", not "
                            + fingerprint + ": nothing approved. Approve only the fingerprint the node-daemon on " + name + " logs at start"
                            + " (\"identity SHA256:...\"), once its status presents it (`kubectl get wgnode " + member + "`)");
                }
                c.resources(WireGuardNode.class).withName(member).edit(x -> {
                    if (x.getMetadata().getAnnotations() == null) x.getMetadata().setAnnotations(new HashMap<>());
                    x.getMetadata().getAnnotations().put(WireGuardNode.APPROVED_IDENTITY, fingerprint);
                    return x;
                });
                node.err.println("approved identity " + fingerprint + " for node " + name + " (annotation " + WireGuardNode.APPROVED_IDENTITY
                        + " on WireGuardNode " + member + ")");
                long deadline = System.nanoTime() + timeout.toNanos();
                while (System.nanoTime() < deadline) {
                    WireGuardNode now = c.resources(WireGuardNode.class).withName(member).get();
                    if (now != null && now.getSpec().identity != null && fingerprint.equals(now.getSpec().identity.fingerprint)) {
                        node.out.println("accepted: node " + name + " peers with key " + now.getSpec().publicKey + " again");
                        return 0;
                    }
                    Thread.sleep(250);
                }
                if (!timeout.isZero()) {
                    throw new PeerCommands.Failure("not accepted after " + timeout.toSeconds() + " s: is the wiremesh operator running? See"
                            + " `kubectl get wgnode " + member + "` (PROPOSAL) and its Degraded condition; the approval stays until the"
                            + " operator uses it");
                }
                return 0;
            }
        }

        private static String safeFingerprint(String key) {
            try {
                return Proposal.fingerprint(key);
            } catch (IllegalArgumentException e) {
                return "a malformed identity";
            }
        }
    }
}
