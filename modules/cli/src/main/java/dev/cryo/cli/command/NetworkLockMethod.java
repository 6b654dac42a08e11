package dev.cryo.cli.command;

/**
 * CRIU's --network-lock methods that cryo has: nftables, spoken over nfnetlink (CRIU's iptables method runs
 * the iptables command, which cryo does not), and skip.
 */
enum NetworkLockMethod {
    nftables,
    skip
}
