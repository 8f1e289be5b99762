/** "7.1 MiB", "18.6 GiB": sizes as the messages and the picker show them. */
export function formatBytes(bytes: number): string {
    return bytes < 2 ** 30 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
