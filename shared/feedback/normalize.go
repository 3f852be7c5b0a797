package feedback

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tradSimpPairs lists traditional characters followed by their simplified
// forms, two runes per pair. It holds the characters that occur in feedback
// about retail (products, stores, delivery, money, safety, membership), not
// the whole of Unicode's table: a rule written in simplified Chinese must
// match a message written in traditional characters.
const tradSimpPairs = "" +
	"這这個个們们來来時时說说會会對对為为與与電电話话買买賣卖錢钱貨货價价質质壞坏務务員员點点處处" +
	"問问題题應应該该還还給给讓让從从後后經经過过遠远運运達达遞递郵邮單单號号碼码帳账戶户積积" +
	"優优費费貴贵賠赔償偿換换軟软體体網网頁页錄录載载閃闪當当機机線线條条門门鬆松緊紧開开關关" +
	"燈灯廁厕間间試试髒脏亂乱擠挤熱热涼凉險险傷伤燒烧燙烫著着爐炉觸触癢痒紅红醫医兒儿嬰婴嚥咽" +
	"師师訴诉訟讼記记報报導导協协權权聯联繫系係系數数態态兇凶罵骂騙骗謝谢讚赞專专業业滿满適适" +
	"歡欢愛爱贊赞縫缝脫脱膠胶縮缩變变壓压濕湿丟丢遺遗誤误錯错發发遲迟擱搁簽签購购車车驗验證证" +
	"簡简難难層层樣样麼么嗎吗請请幾几裡里夠够聽听見见覺觉頭头腦脑臉脸氣气藥药療疗診诊斷断" +
	"議议設设計计歸归讀读書书場场區区麗丽顏颜廳厅樓楼鋪铺櫃柜臺台灣湾獎奖勵励禮礼級级兌兑餘余" +
	"額额漲涨虛虚廣广傳传標标籤签結结稅税續续訂订銷销擾扰騷骚撥拨絡络覆复複复幫帮種种於于實实" +
	"現现舊旧綁绑護护幣币隊队團团營营盡尽儘尽邊边將将歷历動动圖图隨随鐘钟錶表檢检鑑鉴嚴严輕轻" +
	"萬万兩两億亿極极雜杂戰战殺杀燦灿飛飞風风頓顿頸颈鈕钮蓋盖寶宝貝贝媽妈學学長长東东輸输顯显" +
	"週周麵面雞鸡鹹咸聞闻黴霉蟲虫異异髮发擊击綫线衛卫褲裤襪袜裝装帶带傘伞鍋锅壺壶櫥橱準准確确" +
	"購购貼贴廠厂產产屆届據据頻频紙纸誰谁許许課课語语揚扬擁拥悶闷溫温滅灭爆爆炸炸" +
	"濾滤漬渍鑰钥匙匙鎖锁碼码號号掛挂嚇吓驚惊怕怕慘惨憤愤殘残錯错廢废棄弃勞劳賣卖" +
	"約约預预預预額额價价鏈链鐵铁鋼钢銳锐鋸锯針针釘钉銅铜鈔钞銀银鏡镜蘭兰殼壳噁恶嘔呕吐吐" +
	"癥症窩窝憊惫懶懒屬属嬌娇媒媒導导謊谎騙骗罰罚賬账單单張张據据訊讯碼码" +
	"腳脚縫缝幣币團团屆届擔担憂忧慮虑倉仓儲储櫃柜櫥橱盤盘碗碗筆笔紀纪團团隊队" +
	"莊庄鄰邻雙双飾饰廚厨寢寝陽阳陰阴鮮鲜魚鱼餅饼乾干糧粮滷卤蝦虾誌志錦锦獲获陳陈" +
	"彈弹纖纤織织紋纹絨绒綢绸緞缎綿绵襯衬褶褶鈣钙嘗尝嚐尝觀观眾众樂乐聲声響响靜静靈灵" +
	"讓让論论謎谜詢询諮咨調调換换價价補补償偿賠赔" +
	"淨净減减劃划厲厉隻只圍围國国夾夹寬宽損损無无暈晕桿杆槓杠欄栏瀉泻沒没煙烟煩烦環环暢畅瘋疯監监" +
	"離离篩筛細细絕绝維维職职薦荐評评譜谱敗败較较轉转選选飲饮願愿馬马牀床"

// tradToSimp maps a traditional character to its simplified form.
var tradToSimp = func() map[rune]rune {
	runes := []rune(tradSimpPairs)
	if len(runes)%2 != 0 {
		panic("feedback: tradSimpPairs has an odd number of runes")
	}
	m := make(map[rune]rune, len(runes)/2)
	for i := 0; i < len(runes); i += 2 {
		if runes[i] != runes[i+1] {
			m[runes[i]] = runes[i+1]
		}
	}
	return m
}()

// Normalize folds a message into the form rules match against: full-width
// ASCII and the ideographic space become half-width, letters become lower
// case, traditional characters in the table become simplified, curly quotes
// become straight ones, apostrophes are dropped ("don't" → "dont") and runs
// of white space become one space. Chinese text keeps no spaces added or
// removed: rules match it by substring, without word segmentation.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range s {
		switch {
		case r == 0x3000:
			r = ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == '\u2018' || r == '\u2019':
			r = '\''
		case r == '\u201C' || r == '\u201D':
			r = '"'
		}
		if r == '\'' {
			continue
		}
		if r < utf8.RuneSelf {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
				pendingSpace = b.Len() > 0
				continue
			}
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else if unicode.IsSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		} else if r >= 0x3400 {
			if simp, ok := tradToSimp[r]; ok {
				r = simp
			}
		} else {
			r = unicode.ToLower(r)
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isWordByte reports whether c continues an ASCII word (letters and digits).
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
