package io.wiremesh.operator;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A real kube-apiserver (v1.20.2, built from Debian's source by scripts/build-kube-apiserver.sh) with
 * etcd, started once per test JVM by Fabric8's kube-api-test in offline mode, with crds/ applied.
 */
public final class KubeApi {
    public static final Path ROOT = Path.of(System.getProperty("wiremesh.root", "..")).toAbsolutePath().normalize();
    private static final Path DIR = Path.of(System.getenv().getOrDefault("WIREMESH_K8S_CACHE", "/var/cache/wiremesh"), "kubeapitest");
    private static KubeAPIServer server;
    private static KubernetesClient client;
    private static String kubeconfig;

    private KubeApi() {}

    public static synchronized KubernetesClient client() {
        if (client != null) return client;
        Path bin = DIR.resolve("k8s/1.20.2-linux-amd64/kube-apiserver");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException(bin + " is missing: run scripts/build-kube-apiserver.sh (CI does, via scripts/install-deps.sh)");
        }
        server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withOfflineMode(true)
                .withApiServerVersion("1.20.2")
                .withTestDir(DIR.toString())
                .withUpdateKubeConfig(false)
                .withApiServerFlag("--bind-address", "127.0.0.1")
                .build());
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        kubeconfig = server.getKubeConfigYaml();
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeconfig)).build();
        applyCrds(client);
        return client;
    }

    public static String kubeconfigYaml() {
        client();
        return kubeconfig;
    }

    static void applyCrds(KubernetesClient c) {
        try (var files = Files.list(ROOT.resolve("crds"))) {
            for (Path f : files.sorted().toList()) {
                try (FileInputStream in = new FileInputStream(f.toFile())) {
                    CustomResourceDefinition crd = c.apiextensions().v1().customResourceDefinitions().load(in).item();
                    // Created, not server-side applied: 1.20's SSA refuses the x-kubernetes-validations (CEL)
                    // field it does not know, while create and update accept the CRD and drop it (Helm creates).
                    c.resource(crd).createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
                    Awaitility.await().atMost(30, TimeUnit.SECONDS).until(() -> {
                        CustomResourceDefinition got = c.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName()).get();
                        return got != null && got.getStatus() != null && got.getStatus().getConditions() != null && got.getStatus().getConditions().stream()
                                .anyMatch(x -> x.getType().equals("Established") && x.getStatus().equals("True"));
                    });
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
