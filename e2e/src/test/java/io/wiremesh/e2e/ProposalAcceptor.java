package io.wiremesh.e2e;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.operator.identity.ProposalReview;
import java.time.Instant;
import java.util.List;

/**
 * The operator's acceptance of node proposals for the tests that run node-daemons without the
 * operator (they create the WireGuardNodes as the operator would): every 100 ms, each member of the
 * mesh is reviewed by the operator's own decision ({@link ProposalReview}) and an accepted proposal's
 * keys, endpoints and identity are written into its spec, as the operator's ProposalAcceptance does.
 * The tests have no Node objects: every node is bound to one fixed UID.
 */
final class ProposalAcceptor implements AutoCloseable {
    static final String NODE_UID = "e2e-node";
    private final Thread thread;

    ProposalAcceptor(KubernetesClient client, String mesh) {
        thread = Thread.ofPlatform().daemon().name("proposals-" + mesh).start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    List<WireGuardNode> members = client.resources(WireGuardNode.class).withLabel(WireGuardNode.MESH_LABEL, mesh).list().getItems();
                    java.util.Map<String, String> holders = ProposalReview.keyHolders(members);
                    for (WireGuardNode m : members) {
                        ProposalReview r = ProposalReview.of(m, NODE_UID, holders, Instant.now());
                        if (r.verdict() != ProposalReview.Verdict.ACCEPT) continue;
                        client.resources(WireGuardNode.class).withName(m.getMetadata().getName()).edit(w -> {
                            w.getSpec().publicKey = r.proposal().publicKey();
                            w.getSpec().kemPublicKey = r.proposal().kemPublicKey();
                            w.getSpec().endpoints = List.copyOf(r.proposal().endpoints());
                            w.getSpec().identity = r.accepted();
                            return w;
                        });
                    }
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // The API server restarting or a member deleted under us: the next round retries.
                }
            }
        });
    }

    @Override
    public void close() throws InterruptedException {
        thread.interrupt();
        thread.join(5000);
    }
}
