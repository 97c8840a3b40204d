package io.wiremesh.local;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.Release;

import java.nio.file.Path;
import java.util.List;

/**
 * The Helm client of {@code bin/wiremesh-local}: Helm's own Go library, in process (helm-java), so the
 * local cluster needs no Helm binary from outside the registries this project may use.
 * <pre>
 *   upgrade  CHART_DIR RELEASE NAMESPACE KUBECONFIG [KEY=VALUE ...]   install, or upgrade, and wait for readiness
 *   uninstall          RELEASE NAMESPACE KUBECONFIG
 * </pre>
 */
public final class HelmMain {
    private HelmMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length >= 5 && args[0].equals("upgrade")) {
            var cmd = new Helm(Path.of(args[1])).upgrade().install().withName(args[2]).withNamespace(args[3])
                    .createNamespace().withKubeConfig(Path.of(args[4])).waitReady().withTimeout(300);
            for (String kv : List.of(args).subList(5, args.length)) {
                int eq = kv.indexOf('=');
                if (eq < 1) usage("not KEY=VALUE: " + kv);
                cmd.set(kv.substring(0, eq), kv.substring(eq + 1));
            }
            Release r = cmd.call();
            System.out.println("release " + r.getName() + " in " + r.getNamespace() + ": " + r.getStatus() + " (revision " + r.getRevision() + ")");
        } else if (args.length == 4 && args[0].equals("uninstall")) {
            System.out.println(Helm.uninstall(args[1]).withNamespace(args[2]).withKubeConfig(Path.of(args[3])).ignoreNotFound().call());
        } else {
            usage("unknown command");
        }
    }

    private static void usage(String problem) {
        System.err.println("wiremesh-local helm: " + problem);
        System.err.println("usage: upgrade CHART_DIR RELEASE NAMESPACE KUBECONFIG [KEY=VALUE ...] | uninstall RELEASE NAMESPACE KUBECONFIG");
        System.exit(2);
    }
}
