package io.wiremesh.bench;

import io.wiremesh.api.identity.Proposal;
import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.crypto.X25519;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Base64;
import java.util.List;

/**
 * What N node-daemons write when they start, for {@code bench/operator-scale.sh}: per simulated node
 * {@code sim-I} of mesh MESH, its own Ed25519 identity and WireGuard key, and the status merge patch
 * proposing the key and an endpoint, signed as the node-daemon signs it ({@link Proposal}).
 *
 * <pre>
 *   SignedProposals OUT MESH N     writes OUT: "MESH.sim-I TAB {status patch}" for I = 1 .. N
 * </pre>
 */
public final class SignedProposals {
    private SignedProposals() {}

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        String mesh = args[1];
        int n = Integer.parseInt(args[2]);
        KeyPairGenerator ed = KeyPairGenerator.getInstance("Ed25519");
        StringBuilder lines = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            KeyPair id = ed.generateKeyPair();
            String node = "sim-" + i, name = mesh + "." + node;
            String key = Keys.toBase64(X25519.publicKey(X25519.generatePrivateKey()));
            String identity = Proposal.base64(id.getPublic());
            List<String> endpoints = List.of("10.251." + (i / 200) + "." + (i % 200 + 10) + ":51820");
            Proposal p = new Proposal(name, node, 1, identity, key, null, endpoints);
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(id.getPrivate());
            s.update(p.message());
            String sig = Base64.getEncoder().encodeToString(s.sign());
            lines.append(name).append('\t').append("{\"status\":{\"publicKey\":\"").append(key).append("\",\"endpoints\":[\"")
                    .append(endpoints.getFirst()).append("\"],\"identityKey\":\"").append(identity)
                    .append("\",\"proposal\":{\"generation\":1,\"signature\":\"").append(sig).append("\"}}}\n");
        }
        Files.writeString(out, lines);
    }
}
