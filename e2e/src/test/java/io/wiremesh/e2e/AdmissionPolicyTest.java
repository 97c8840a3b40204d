package io.wiremesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The chart's ValidatingAdmissionPolicy (nodeDaemon.admissionPolicy.enabled, Kubernetes 1.30+): rendered only when asked,
 * and its CEL expressions, evaluated by CEL's reference Java implementation on requests shaped as the API server builds
 * them, let a node-daemon write its own node's WireGuardNode status and nothing else. The local API server (1.20) has no
 * such policies, so this checks the expressions, not their enforcement.
 */
class AdmissionPolicyTest {
    private static final String NODE_SA = "system:serviceaccount:wiremesh-system:wiremesh-node";
    private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .addVar("request", SimpleType.DYN).addVar("object", SimpleType.DYN).addVar("oldObject", SimpleType.DYN).build();
    private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

    @SuppressWarnings("unchecked")
    private static Map<String, Object> policy(boolean enabled) throws Exception {
        var helm = new Helm(ChartTest.CHART).template().withName("wiremesh").withNamespace("wiremesh-system");
        String yaml = (enabled ? helm.set("nodeDaemon.admissionPolicy.enabled", true) : helm).call();
        List<Map<String, Object>> docs = new ArrayList<>();
        try (var it = new ObjectMapper(new YAMLFactory()).readerFor(Map.class).readValues(yaml)) {
            while (it.hasNext()) {
                Object d = it.next();
                if (d instanceof Map<?, ?> m && "ValidatingAdmissionPolicy".equals(m.get("kind"))) docs.add((Map<String, Object>) m);
            }
        }
        return docs.isEmpty() ? null : docs.getFirst();
    }

    private static Object eval(String expression, Map<String, Object> vars) throws Exception {
        return RUNTIME.createProgram(COMPILER.compile(expression).getAst()).eval(vars);
    }

    private static Map<String, Object> request(String user, Map<String, Object> extra) {
        return Map.of("userInfo", Map.of("username", user, "extra", extra));
    }

    private static Map<String, Object> member(String node) {
        return Map.of("metadata", Map.of("name", "default." + node), "spec", Map.of("nodeName", node));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aNodeDaemonWritesOnlyItsOwnNodesStatus() throws Exception {
        assertThat(policy(false)).as("off by default: API servers before 1.30 reject the kind").isNull();
        Map<String, Object> p = policy(true);
        Map<String, Object> spec = (Map<String, Object>) p.get("spec");
        assertThat(spec.get("failurePolicy")).isEqualTo("Fail");
        assertThat(spec.get("matchConstraints").toString()).contains("wireguardnodes/status").contains("UPDATE");
        String match = (String) ((List<Map<String, Object>>) spec.get("matchConditions")).getFirst().get("expression");
        Map<String, Object> validation = ((List<Map<String, Object>>) spec.get("validations")).getFirst();
        String rule = (String) validation.get("expression"), message = (String) validation.get("messageExpression");

        Map<String, Object> n1 = Map.of("authentication.kubernetes.io/node-name", List.of("n1"),
                "authentication.kubernetes.io/pod-name", List.of("wiremesh-node-abcde"));
        // Own node: allowed.
        var own = Map.<String, Object>of("request", request(NODE_SA, n1), "object", member("n1"), "oldObject", member("n1"));
        assertThat(eval(match, own)).isEqualTo(true);
        assertThat(eval(rule, own)).isEqualTo(true);
        // Another node's WireGuardNode: refused, and the message says whose it is and where the request came from.
        var other = Map.<String, Object>of("request", request(NODE_SA, n1), "object", member("n2"), "oldObject", member("n2"));
        assertThat(eval(rule, other)).isEqualTo(false);
        assertThat(eval(message, other)).isEqualTo("a node-daemon may write only the WireGuardNode of its own node: default.n2 belongs"
                + " to node n2, the request comes from node n1");
        // Changing spec.nodeName in the same request does not help: the stored object decides.
        var renamed = Map.<String, Object>of("request", request(NODE_SA, n1), "object", member("n1"), "oldObject", member("n2"));
        assertThat(eval(rule, renamed)).isEqualTo(false);
        // A token bound to no node (a legacy Secret token, a TokenRequest without a pod): refused.
        var unbound = Map.<String, Object>of("request", request(NODE_SA, Map.of()), "object", member("n1"), "oldObject", member("n1"));
        assertThat(eval(rule, unbound)).isEqualTo(false);
        assertThat((String) eval(message, unbound)).endsWith("the request comes from a token bound to no node");
        // Anyone else (the operator writing the Degraded condition, an admin) is not what the policy is about.
        var operator = Map.<String, Object>of("request", request("system:serviceaccount:wiremesh-system:wiremesh-operator", Map.of()),
                "object", member("n2"), "oldObject", member("n2"));
        assertThat(eval(match, operator)).isEqualTo(false);
    }
}
