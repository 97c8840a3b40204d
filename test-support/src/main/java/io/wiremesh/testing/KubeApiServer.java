package io.wiremesh.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;

/**
 * A real kube-apiserver v1.20.2 with etcd (built from Debian's source by
 * {@code scripts/build-kube-apiserver.sh}, which {@code scripts/install-deps.sh} runs), started by
 * Fabric8's kube-api-test in offline mode on 127.0.0.1, with every CRD of {@code crds/} created and
 * Established. One per test JVM, started on first use and stopped when the JVM exits: tests share it
 * and keep apart by the names of what they create.
 */
public final class KubeApiServer {
    /** The repository root (system property {@code wiremesh.root}, else the parent of the module directory). */
    public static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    private static final Path DIR = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"), "kubeapitest");
    private static KubernetesClient client;
    private static String kubeconfig;

    private KubeApiServer() {}

    /**
     * A client of the shared API server, starting it on first use.
     *
     * @throws IllegalStateException when kube-apiserver has not been built (the message says how)
     */
    public static synchronized KubernetesClient client() {
        if (client != null) return client;
        Path bin = DIR.resolve("k8s/1.20.2-linux-amd64/kube-apiserver");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException(bin + " is missing: run scripts/install-deps.sh (it runs scripts/build-kube-apiserver.sh)");
        }
        KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig().withOfflineMode(true)
                .withApiServerVersion("1.20.2").withTestDir(DIR.toString()).withUpdateKubeConfig(false)
                .withApiServerFlag("--bind-address", "127.0.0.1").build());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        kubeconfig = server.getKubeConfigYaml();
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
        createCrds(client);
        return client;
    }

    /** The kubeconfig (YAML) of the shared API server: an admin client certificate, server https://127.0.0.1:PORT. */
    public static synchronized String kubeconfig() {
        client();
        return kubeconfig;
    }

    /** The shared API server's port on 127.0.0.1. */
    public static int port() {
        Matcher m = Pattern.compile("server: *\"?https://127\\.0\\.0\\.1:(\\d+)").matcher(kubeconfig());
        if (!m.find()) throw new IllegalStateException("no https://127.0.0.1 server in the kubeconfig");
        return Integer.parseInt(m.group(1));
    }

    /**
     * Creates (or updates) every CRD of {@code crds/} and waits until each is Established. Created, not
     * server-side applied: 1.20's SSA refuses the x-kubernetes-validations (CEL) field it does not know,
     * while create and update accept the CRD and drop it (Helm creates too).
     */
    public static void createCrds(KubernetesClient c) {
        try (var files = Files.list(ROOT.resolve("crds"))) {
            for (Path f : files.sorted().toList()) {
                try (InputStream in = Files.newInputStream(f)) {
                    CustomResourceDefinition crd = c.apiextensions().v1().customResourceDefinitions().load(in).item();
                    c.resource(crd).createOr(NonDeletingOperation::update);
                    Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> {
                        CustomResourceDefinition got = c.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get();
                        return got != null && got.getStatus() != null && got.getStatus().getConditions() != null && got.getStatus().getConditions()
                                .stream().anyMatch(x -> x.getType().equals("Established") && x.getStatus().equals("True"));
                    });
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + ROOT.resolve("crds") + ": " + e.getMessage(), e);
        }
    }
}
