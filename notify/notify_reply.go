package notify

// ReplyHelpText is the one help SMS sent to a reply the hub could not read
// (storage.MessageHelp, Ref type storage.RefReply): Chinese unless the
// member chose English.
func ReplyHelpText(lang string) string {
	if lang == "en" {
		return "[Emergency] Please reply with a number: 1 received, 2 safe, 3 need help."
	}
	return "【应急平台】请回复数字：1收到 2安全 3求助"
}
