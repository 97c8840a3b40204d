package io.wiremesh.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway VM running Debian's kernel with the real WireGuard module, through
 * {@code scripts/kernel-vm.sh} (qemu; the host's /usr read-only at /usr, {@code share} read-write at
 * /share). One line per test: {@code KernelVm.run(share, "probe.sh", 384, 240)}.
 */
final class KernelVm {
    static final Path ROOT = Host.ROOT;
    static final Path SCRIPT = ROOT.resolve("scripts/kernel-vm.sh");

    /** The guest script's exit code (124: timed out, 125: the VM died) and the VM's console log. */
    record Result(int exit, String console) {}

    private KernelVm() {}

    /** Downloads and builds what the VM needs once (cached under /var/cache/wiremesh/kernel-vm). */
    static void prepare() throws Exception {
        Process p = new ProcessBuilder(SCRIPT.toString(), "prepare").inheritIO().start();
        if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) throw new IllegalStateException("scripts/kernel-vm.sh prepare failed");
    }

    /** A VM being run by the harness: wait for it, or stop it (a test that failed before it ended). */
    static final class Running implements AutoCloseable {
        private final Process process;
        private final Path share;
        private final int timeoutSeconds;

        private Running(Process process, Path share, int timeoutSeconds) {
            this.process = process;
            this.share = share;
            this.timeoutSeconds = timeoutSeconds;
        }

        boolean alive() {
            return process.isAlive();
        }

        /** Waits for the guest to power off (the harness's own timeout plus a minute at most). */
        Result await() throws Exception {
            if (!process.waitFor(timeoutSeconds + 60L, TimeUnit.SECONDS)) {
                close();
                throw new IllegalStateException("scripts/kernel-vm.sh did not return");
            }
            Path console = share.resolve("console.log");
            return new Result(process.exitValue(), Files.exists(console) ? Files.readString(console) : "");
        }

        /** Stops the harness if it still runs; its exit trap kills qemu and removes the tap it made. */
        @Override
        public void close() throws InterruptedException {
            if (!process.isAlive()) return;
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Starts a VM that runs {@code sh /share/SCRIPT} and powers off; {@code network}: "--netns", NS, "--tap", TAP. */
    static Running start(Path share, String script, int memoryMb, int timeoutSeconds, String... network) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(SCRIPT.toString(), "run", "--share", share.toString(), "--script", script,
                "--mem", String.valueOf(memoryMb), "--timeout", String.valueOf(timeoutSeconds)));
        cmd.addAll(List.of(network));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(share.resolve("harness.log").toFile()).start();
        return new Running(p, share, timeoutSeconds);
    }

    /** Boots a VM that runs {@code sh /share/SCRIPT}; waits for it to power off. */
    static Result run(Path share, String script, int memoryMb, int timeoutSeconds, String... network) throws Exception {
        try (Running vm = start(share, script, memoryMb, timeoutSeconds, network)) {
            return vm.await();
        }
    }
}
