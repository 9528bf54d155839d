// The connection's settings in Companion. The token is a secret field: Companion keeps it
// apart from the exported configuration.

import { Regex } from '@companion-module/base'

export const DEFAULT_PORT = 8080

export function configFields() {
	return [
		{
			type: 'static-text',
			id: 'info',
			width: 12,
			label: 'showctl controller',
			value:
				'A director token presses every button; a viewer token only shows tally and times. ' +
				'A host name other than localhost or an address must be in the controller\'s http.allowed_hosts.',
		},
		{ type: 'textinput', id: 'host', label: 'Host', width: 8, default: '127.0.0.1', regex: Regex.SOMETHING },
		{ type: 'number', id: 'port', label: 'Port', width: 4, default: DEFAULT_PORT, min: 1, max: 65535 },
		{ type: 'checkbox', id: 'https', label: 'HTTPS (the controller serves TLS)', width: 4, default: false },
		{ type: 'secret-text', id: 'token', label: 'API token (at least 24 characters)', width: 8, default: '' },
	]
}

/** Why a config cannot be used (null: it can). */
export function configProblem(config, secrets) {
	if (!String(config?.host ?? '').trim()) return 'no host set'
	const port = Number(config?.port)
	if (!Number.isInteger(port) || port < 1 || port > 65535) return 'the port is not 1-65535'
	if (String(secrets?.token ?? '').length < 24) return 'the token is missing or shorter than 24 characters'
	return null
}
