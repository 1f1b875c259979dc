// @ts-check
// What a username may be (the server enforces the same: accounts/schemas.py): letters, digits, "_", "." and "-", 3
// to 32 of them. A name outside it, served for someone, is no user's: a look-alike or an invisible letter.

export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
