// pages.js — the admin pages' small scripts (catalogue, instances, incidents).

export function mountInstances() {}
