// Upgrade scripts, run by Companion on saved buttons when the module's version changes. None
// yet: the first release. A script appended here must never be removed or reordered (Companion
// stores how many have run).

export const UpgradeScripts = []
