// Verilator harness for the FPGA top level: a simulated board behind a pseudo-terminal.
//
// The host side is a real serial port (a pty), so the pyserial host driver talks to
// the simulated board exactly as to a USB UART. This harness only moves bits: bytes
// the host writes are shifted onto `rx` (8N1, DIVISOR clocks per bit) and bits the
// design drives on `tx` are sampled mid-bit and written back to the host.
//
// Usage: hostsim DIVISOR      prints the pty path on stdout, runs until stdin closes.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <memory>

#include "verilated.h"
#include "hostsim_top.h"  // written by hostsim.py: the model header and TOP_CLASS

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIVISOR\n", argv[0]);
        return 2;
    }
    const long divisor = atol(argv[1]);
    auto context = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<TOP_CLASS>(context.get());

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) { perror("pty"); return 1; }
    const char* slave_name = ptsname(master);
    // Hold the slave open (raw) so the master never reads EIO between host sessions.
    int slave = open(slave_name, O_RDWR | O_NOCTTY);
    struct termios raw;
    tcgetattr(slave, &raw);
    cfmakeraw(&raw);
    tcsetattr(slave, TCSANOW, &raw);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    printf("%s\n", slave_name);
    fflush(stdout);

    auto tick = [&]() {
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
    };
    top->rx = 1;
    top->rst = 1;
    for (int i = 0; i < 8; i++) tick();
    top->rst = 0;

    long tx_bits = 0, tx_timer = 0;  // host -> device shifter (drives rx)
    unsigned tx_frame = 0;
    long rx_timer = 0, rx_bit = -1;   // device -> host sampler (reads tx)
    unsigned rx_byte = 0;
    long idle = 0;
    unsigned long long cycle = 0;

    for (;;) {
        if (tx_bits == 0) {
            unsigned char b;
            if (read(master, &b, 1) == 1) {
                tx_frame = (1u << 9) | (unsigned(b) << 1);  // stop, data, start (LSB first)
                tx_bits = 10;
                tx_timer = divisor;
            }
        }
        if (tx_bits) {
            top->rx = tx_frame & 1;
            if (--tx_timer == 0) { tx_frame >>= 1; tx_bits--; tx_timer = divisor; }
        } else {
            top->rx = 1;
        }

        tick();
        cycle++;

        if (rx_bit < 0) {
            if (!top->tx) { rx_bit = 0; rx_timer = divisor + divisor / 2; rx_byte = 0; }
        } else if (--rx_timer == 0) {
            if (rx_bit < 8) {
                rx_byte |= unsigned(top->tx & 1) << rx_bit;
                rx_bit++;
                rx_timer = divisor;
            } else {
                unsigned char b = rx_byte;
                while (write(master, &b, 1) != 1) usleep(100);
                rx_bit = -1;
            }
        }

        // Sleep in poll() only while nothing at all is happening.
        bool quiet = tx_bits == 0 && rx_bit < 0 && top->tx && !top->busy;
        idle = quiet ? idle + 1 : 0;
        if (idle > 40 * divisor) {
            struct pollfd fds[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
            poll(fds, 2, 2);
            if (fds[1].revents & (POLLIN | POLLHUP)) {
                char c;
                if (read(0, &c, 1) <= 0) break;  // stdin closed: the parent is done
            }
            if (!(fds[0].revents & POLLIN)) continue;
            idle = 0;
        }
    }
    top->final();
    close(slave);
    close(master);
    return 0;
}
