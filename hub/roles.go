package hub

import "github.com/longyou/hub/storage"

// RoleMask is a set of roles, one bit per role (the geo index's tag mask).
type RoleMask uint8

// AllRoles is every role.
const AllRoles RoleMask = 0xff

var roleTags = map[storage.Role]uint8{
	storage.RoleResident: 0, storage.RolePatrol: 1, storage.RoleCadre: 2,
	storage.RoleCommander: 3, storage.RoleAdmin: 4,
}

// ValidRole tells whether r is one of docs/API.md's roles.
func ValidRole(r storage.Role) bool { _, ok := roleTags[r]; return ok }

// RoleBit is the mask of one role.
func RoleBit(r storage.Role) RoleMask { return 1 << roleTags[r] }

// Roles is the mask of a role list; nil means every role.
func Roles(roles ...storage.Role) RoleMask {
	if roles == nil {
		return AllRoles
	}
	var m RoleMask
	for _, r := range roles {
		m |= RoleBit(r)
	}
	return m
}

// Has tells whether the mask holds role r.
func (m RoleMask) Has(r storage.Role) bool { return m&RoleBit(r) != 0 }
