/** A Redis URL for logs and errors: the password never leaves the process. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0]}:***` : '***'}@`);
}
