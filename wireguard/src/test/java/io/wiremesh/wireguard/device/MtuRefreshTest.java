package io.wiremesh.wireguard.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.wiremesh.testing.Liveness;
import io.wiremesh.wireguard.net.LinuxUdpBind;
import io.wiremesh.wireguard.timers.Clock;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** A running device re-reads the interface MTU about once a second (the node-daemon changes it from outside). */
class MtuRefreshTest {
    @Test
    void theTimerLoopRefreshesTheTun() throws Exception {
        AtomicInteger refreshes = new AtomicInteger();
        QueueTun tun = new QueueTun() {
            @Override
            public void refresh() {
                refreshes.incrementAndGet();
            }
        };
        try (Device d = new Device(tun, LinuxUdpBind::open, Clock.SYSTEM, new Device.Options(0, 8, true))) {
            d.start();
            Awaitility.await().atMost(Liveness.BOUND).until(() -> refreshes.get() >= 2);
        }
        assertThat(refreshes.get()).isGreaterThanOrEqualTo(2);
    }
}
